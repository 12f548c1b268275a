/** Test helper: run code with a chosen 'uncaughtException' handler, the process's own restored after. */

/** Run `body` with `handler` as the process's only 'uncaughtException' listener (or none). */
export async function withUncaughtHandler(handler: ((error: Error) => void) | null, body: () => Promise<void>): Promise<void> {
  const saved = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  if (handler !== null) process.on('uncaughtException', handler);
  try {
    await body();
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const listener of saved) process.on('uncaughtException', listener);
  }
}
