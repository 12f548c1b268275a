/**
 * The small page `wasmsocket serve` shows at `/`: it connects to the broadcast endpoint, sends
 * what is typed, shows every message (binary ones, relayed as they are, by their size) with
 * the worker and node it was published from, and the number of connected clients (the sum of
 * what each worker last reported). Plain HTML with an inline module script: no build step, no
 * network beyond the server itself.
 */
export const SERVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wasmsocket</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; justify-content: space-between; align-items: baseline; }
  #status[data-state="open"] { color: #2a7d2a; }
  #status[data-state="closed"] { color: #b02a2a; }
  #log { list-style: none; padding: 0; height: 22rem; overflow-y: auto; border: 1px solid #8884; border-radius: 6px; }
  #log li { padding: .3rem .6rem; border-bottom: 1px solid #8882; font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
  #log li.self { color: #2456a6; }
  #log li.system { color: #888; font-style: italic; }
  #log li .via { color: #888; font-size: .85em; }
  form { display: flex; gap: .5rem; margin-top: .8rem; }
  input { flex: 1; padding: .5rem; font: inherit; }
  button { padding: .5rem 1rem; font: inherit; }
</style>
</head>
<body>
<header>
  <h1>wasmsocket</h1>
  <p><span id="status" data-state="connecting">connecting…</span> · <span id="clients">0</span> connected</p>
</header>
<p>Every message sent here is published on the topic <code>broadcast</code>, which every page
connected to this server subscribes to — through every worker and node serving it. The echo
endpoint is <code>/echo</code>.</p>
<ul id="log" aria-live="polite"></ul>
<form id="send">
  <input id="text" autocomplete="off" placeholder="Type a message" required>
  <button>Send</button>
</form>
<script type="module">
  const log = document.getElementById('log');
  const status = document.getElementById('status');
  const clients = document.getElementById('clients');
  const origin = (event) => (event.worker ? 'worker ' + event.worker + ' · ' : '') + event.node;
  const add = (text, kind, via) => {
    const li = document.createElement('li');
    li.textContent = text;
    if (kind) li.className = kind;
    if (via) {
      const span = document.createElement('span');
      span.className = 'via';
      span.textContent = '  (' + via + ')';
      li.append(span);
    }
    log.append(li);
    log.scrollTop = log.scrollHeight;
  };
  // Each worker reports its own count; the page shows their sum.
  const counts = new Map();
  const count = (event) => {
    counts.set(origin(event), event.clients);
    let sum = 0;
    for (const n of counts.values()) sum += n;
    clients.textContent = sum;
  };
  const url = new URL('/broadcast', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  let me = null;
  ws.onopen = () => { status.textContent = 'open'; status.dataset.state = 'open'; };
  ws.onclose = (e) => {
    status.textContent = 'closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')';
    status.dataset.state = 'closed';
  };
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') { add('[binary message, ' + e.data.byteLength + ' bytes]', 'system'); return; }
    const event = JSON.parse(e.data);
    if (event.type === 'welcome') { me = origin(event) + '#' + event.id; count(event); add('you are client ' + event.id, 'system', origin(event)); }
    else if (event.type === 'clients') count(event);
    else if (event.type === 'message') add(event.from + ': ' + event.text, origin(event) + '#' + event.from === me ? 'self' : '', origin(event));
  };
  document.getElementById('send').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = document.getElementById('text');
    if (ws.readyState === WebSocket.OPEN && input.value) ws.send(input.value);
    input.value = '';
  });
</script>
</body>
</html>
`;
