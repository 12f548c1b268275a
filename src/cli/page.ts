/**
 * The small page `wasmsocket serve` shows at `/`: it connects to the broadcast endpoint, sends
 * what is typed, shows every message (binary ones, relayed as they are, by their size) and the
 * number of connected clients. Plain HTML with an inline module script: no build step, no
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
<p>Every message sent here is broadcast to every page connected to this server. The echo
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
  const add = (text, kind) => {
    const li = document.createElement('li');
    li.textContent = text;
    if (kind) li.className = kind;
    log.append(li);
    log.scrollTop = log.scrollHeight;
  };
  const url = new URL('/broadcast', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  let myId = null;
  ws.onopen = () => { status.textContent = 'open'; status.dataset.state = 'open'; };
  ws.onclose = (e) => {
    status.textContent = 'closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')';
    status.dataset.state = 'closed';
  };
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') { add('[binary message, ' + e.data.byteLength + ' bytes]', 'system'); return; }
    const event = JSON.parse(e.data);
    if (event.type === 'welcome') { myId = event.id; clients.textContent = event.clients; add('you are client ' + event.id, 'system'); }
    else if (event.type === 'clients') clients.textContent = event.clients;
    else if (event.type === 'message') add(event.from + ': ' + event.text, event.from === myId ? 'self' : '');
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
