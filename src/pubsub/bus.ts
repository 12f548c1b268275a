/**
 * A bus carries published messages between the servers of one application: the workers of
 * one machine, or the machines behind one Redis. A server publishes to its own subscribers
 * itself and gives the bus the message for everyone else; the bus hands it to every other
 * node's server, which delivers it to that node's subscribers. What travels is the topic and
 * the payload's bytes, never an object graph, so each receiving node frames the message once
 * for all of its subscribers.
 *
 * Delivery is at most once and ordered per publishing node per topic: a bus may lose messages
 * (a peer restarts, a link goes down), but it never reorders the messages of one node to one
 * topic and never delivers one twice.
 */

/** Called by a bus for each message another node published to a topic this node has interest in. */
export type BusDelivery = (topic: string, payload: Uint8Array, binary: boolean) => void;

export interface Bus {
  /**
   * Connect the bus to the server that delivers its messages. A bus serves one server; the
   * server calls this once, when it is created with the bus.
   */
  attach(deliver: BusDelivery): void;
  /** Carry a message to the other nodes. The bus may keep `payload`: the caller must not change it. */
  publish(topic: string, payload: Uint8Array, binary: boolean): void;
  /**
   * This node now has subscribers to `topic` (called on the first), or has none left (on the
   * last). A bus that can filter at the source (Redis) subscribes to a topic only while this
   * node has interest, so a message to a topic nobody subscribes to anywhere costs nothing.
   */
  interest(topic: string, interested: boolean): void;
  /** Stop carrying messages and release what the bus holds (connections, listeners). */
  close(): Promise<void>;
}
