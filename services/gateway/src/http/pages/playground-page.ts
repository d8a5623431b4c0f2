/**
 * The playground page (SPEC 10, `PLAYGROUND=1`): subscribe to a pattern and watch events live,
 * and publish when this port allows it. One static document with no external resources, so it
 * works offline and behind any proxy; it talks to the same origin's public routes only.
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssehub playground</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; max-width: 60rem; color: #1b1b1b; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 1rem; padding: .75rem 1rem; }
  legend { font-weight: 600; }
  label { margin-right: .75rem; }
  input[type=text] { font: inherit; padding: .25rem .4rem; width: 16rem; }
  textarea { font: 13px ui-monospace, monospace; width: 100%; height: 4rem; }
  button { font: inherit; padding: .25rem .8rem; }
  #state { font-weight: 600; }
  #log { font: 13px ui-monospace, monospace; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; height: 22rem; overflow: auto; white-space: pre-wrap; }
  .reset { color: #a40000; }
  .meta { color: #666; }
</style>
</head>
<body>
<h1>ssehub playground</h1>
<fieldset>
  <legend>Subscribe</legend>
  <label>Patterns <input id="patterns" type="text" value="**" title="Space-separated patterns: * is one segment, a trailing ** any depth"></label>
  <label><input id="envelope" type="checkbox" checked> envelope (shows each event's topic)</label>
  <button id="subscribe">Subscribe</button> <button id="stop">Stop</button>
  <p>State: <span id="state">closed</span> &middot; Last-Event-ID: <code id="last">none</code></p>
</fieldset>
<fieldset>
  <legend>Publish</legend>
  <label>Topic <input id="topic" type="text" value="pets/dogs"></label>
  <label>Event <input id="event" type="text" value="" placeholder="(unnamed: message)"></label>
  <textarea id="data">Corgi</textarea>
  <button id="publish">Publish</button> <span id="result" class="meta"></span>
</fieldset>
<div id="log" aria-live="polite"></div>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const states = ['connecting', 'open', 'closed'];
  let source;
  const log = (text, cls) => {
    const line = document.createElement('div');
    if (cls) line.className = cls;
    line.textContent = new Date().toLocaleTimeString() + '  ' + text;
    $('log').prepend(line);
  };
  const showState = () => { $('state').textContent = source ? states[source.readyState] : 'closed'; };
  const show = (e) => {
    $('last').textContent = e.lastEventId || 'none';
    let text = e.data;
    if ($('envelope').checked) {
      try { const env = JSON.parse(e.data); text = env.topic + '  ' + env.data; } catch { /* not an envelope */ }
    }
    log((e.type === 'message' ? '' : e.type + '  ') + text + '   ' + e.lastEventId);
  };
  const stop = () => { if (source) source.close(); source = undefined; showState(); };
  $('subscribe').addEventListener('click', () => {
    stop();
    const params = new URLSearchParams();
    for (const p of $('patterns').value.split(/\\s+/).filter(Boolean)) params.append('topic', p);
    if ($('envelope').checked) params.set('envelope', '1');
    source = new EventSource('subscribe?' + params);
    source.onopen = () => { showState(); log('open', 'meta'); };
    source.onerror = () => { showState(); log('reconnecting (or refused: see the network panel)', 'meta'); };
    source.onmessage = show;
    source.addEventListener('ssehub.reset', (e) => log('ssehub.reset ' + e.data + ': refetch your state', 'reset'));
    // Named events fire their own listeners; catch the ones typed in the publish form too.
    const named = new Set();
    const listen = (name) => { if (name && !named.has(name)) { named.add(name); source.addEventListener(name, show); } };
    $('event').addEventListener('change', () => listen($('event').value));
    listen($('event').value);
    showState();
  });
  $('stop').addEventListener('click', stop);
  $('publish').addEventListener('click', async () => {
    const body = { topic: $('topic').value, data: $('data').value };
    if ($('event').value) body.event = $('event').value;
    const res = await fetch('publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    $('result').textContent = res.status + ' ' + (await res.text());
  });
})();
</script>
</body>
</html>
`;
