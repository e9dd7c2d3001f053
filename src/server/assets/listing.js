// ringdrop listing page: uploads (one PUT per file, with progress), drag and
// drop, new folder (MKCOL), delete (DELETE), and a listing that re-renders
// from `?json` after every change. Embedded in the binary; no dependencies.
//
// Names are only ever put in the page with textContent / attributes set from
// JavaScript, never as HTML.
(() => {
  'use strict';

  const body = document.body;
  const dirPath = body.dataset.path || '/'; // percent-encoded, ends with '/'
  const readOnly = body.dataset.readOnly === 'true';
  const allowDelete = body.dataset.allowDelete === 'true';
  const maxFileSize = Number(body.dataset.maxFileSize) || Infinity;
  /** Uploads running at once; the rest wait in the queue. */
  const MAX_PARALLEL = 3;
  /** The speed is measured over this window (ms). */
  const SPEED_WINDOW_MS = 3000;

  const $ = (id) => document.getElementById(id);
  const entriesEl = $('entries');
  const emptyEl = $('empty');
  const summaryEl = $('summary');
  const messageEl = $('message');
  const icons = $('icons').content;

  // ---------------------------------------------------------------- helpers

  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  function humanSize(bytes) {
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit + 1 < UNITS.length) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
  }

  function humanTime(seconds) {
    if (!isFinite(seconds)) return '…';
    if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)} s`;
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${s % 60} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  function localizeTimes(root) {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.dateTime);
      if (!isNaN(d)) {
        t.textContent = dateFormat.format(d);
        t.title = t.dateTime;
      }
    }
  }

  function icon(name) {
    return icons.querySelector(`[data-icon="${name}"] svg`).cloneNode(true);
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c != null));
    return node;
  }

  function showMessage(text, kind) {
    messageEl.replaceChildren(
      el('span', { text }),
      el('button', { type: 'button', class: 'btn small', onclick: clearMessage, 'aria-label': 'Dismiss message' }, 'Dismiss'),
    );
    messageEl.className = kind === 'info' ? 'message info' : 'message';
    messageEl.hidden = false;
  }
  function clearMessage() {
    messageEl.hidden = true;
    messageEl.replaceChildren();
  }

  /** The server's JSON `message`, or a sentence from the status. */
  function messageFrom(status, statusText, text) {
    try {
      const json = JSON.parse(text);
      if (json && typeof json.message === 'string' && json.message) return json.message;
    } catch (_) { /* not JSON */ }
    return status ? `The server answered ${status} ${statusText || ''}`.trim() + '.' : 'The server could not be reached.';
  }

  async function responseMessage(response) {
    let text = '';
    try { text = await response.text(); } catch (_) { /* ignore */ }
    return messageFrom(response.status, response.statusText, text);
  }

  // ---------------------------------------------------------------- listing

  function buildRow(entry) {
    const isDir = entry.type === 'dir';
    const href = encodeURIComponent(entry.name) + (isDir ? '/' : '');
    const link = el('a', { href }, icon(isDir ? 'dir' : 'file'), el('span', { text: entry.name }));
    const actions = el('td', { class: 'actions' });
    if (!isDir) {
      const dl = el('a', { class: 'icon-btn', href: `${href}?download`, title: 'Download', 'aria-label': `Download ${entry.name}` }, icon('download'));
      actions.append(dl);
    }
    if (allowDelete) {
      actions.append(el('button', {
        type: 'button', class: 'icon-btn danger', 'data-delete': href, title: 'Delete', 'aria-label': `Delete ${entry.name}`,
      }, icon('delete')));
    }
    const modified = el('time', { datetime: entry.modified, text: entry.modified });
    return el('tr', { class: isDir ? 'dir' : 'file', 'data-name': entry.name },
      el('td', { class: 'name' }, link),
      el('td', { class: 'size', text: isDir ? '' : humanSize(entry.size) }),
      el('td', { class: 'modified' }, modified),
      actions);
  }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  function render(listing, fresh) {
    const parent = entriesEl.querySelector('tr.parent');
    const rows = listing.entries.map((entry) => {
      const row = buildRow(entry);
      if (fresh && fresh.has(entry.name)) row.classList.add('fresh');
      return row;
    });
    entriesEl.replaceChildren(...(parent ? [parent] : []), ...rows);
    localizeTimes(entriesEl);
    emptyEl.hidden = listing.entries.length > 0;
    const dirs = listing.entries.filter((e) => e.type === 'dir').length;
    const files = listing.entries.length - dirs;
    const bytes = listing.entries.reduce((sum, e) => sum + (e.type === 'dir' ? 0 : e.size), 0);
    summaryEl.textContent = `${plural(dirs, 'folder', 'folders')} · ${plural(files, 'file', 'files')} · ${humanSize(bytes)}`;
  }

  // One refresh at a time; changes that land meanwhile ask for one more.
  let refreshing = null;
  let refreshAgain = false;
  const freshNames = new Set();
  function refresh(name) {
    if (name) freshNames.add(name);
    if (refreshing) {
      refreshAgain = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        const fresh = new Set(freshNames);
        freshNames.clear();
        try {
          const response = await fetch(`${dirPath}?json`, { headers: { Accept: 'application/json' }, cache: 'no-store' });
          if (!response.ok) throw new Error(await responseMessage(response));
          render(await response.json(), fresh);
        } catch (err) {
          showMessage(`Could not refresh the listing: ${err.message}`);
        }
      } while (refreshAgain);
      refreshing = null;
    })();
    return refreshing;
  }

  // Delete: the first click arms the button, a second one within 4 s deletes.
  entriesEl.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-delete]');
    if (!button) return;
    const name = button.closest('tr').querySelector('.name span').textContent;
    if (!button.classList.contains('armed')) {
      button.classList.add('armed');
      button.dataset.label = button.getAttribute('aria-label');
      button.setAttribute('aria-label', `Click again to delete ${name}`);
      button.replaceChildren('Delete?');
      button.disarm = setTimeout(() => {
        button.classList.remove('armed');
        button.setAttribute('aria-label', button.dataset.label);
        button.replaceChildren(icon('delete'));
      }, 4000);
      return;
    }
    clearTimeout(button.disarm);
    button.disabled = true;
    try {
      const response = await fetch(dirPath + button.dataset.delete, { method: 'DELETE' });
      if (!response.ok) throw new Error(await responseMessage(response));
      clearMessage();
    } catch (err) {
      showMessage(`Could not delete “${name}”: ${err.message}`);
    }
    await refresh();
  });

  localizeTimes(document);

  if (readOnly || !$('file-input')) return;

  // ---------------------------------------------------------------- new folder

  const folderButton = $('new-folder');
  const folderForm = $('folder-form');
  const folderName = $('folder-name');
  function toggleFolderForm(open) {
    folderForm.hidden = !open;
    folderButton.setAttribute('aria-expanded', String(open));
    if (open) {
      folderName.value = '';
      folderName.focus();
    } else {
      folderButton.focus();
    }
  }
  folderButton.addEventListener('click', () => toggleFolderForm(folderForm.hidden));
  $('folder-cancel').addEventListener('click', () => toggleFolderForm(false));
  folderForm.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') toggleFolderForm(false);
  });
  folderForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = folderName.value.trim();
    if (!name || name === '.' || name === '..' || /[/\\]/.test(name)) {
      showMessage('A folder name cannot be empty, “.” or “..”, or contain a slash.');
      folderName.focus();
      return;
    }
    try {
      const response = await fetch(`${dirPath}${encodeURIComponent(name)}/`, { method: 'MKCOL' });
      if (response.status === 405) throw new Error(`“${name}” already exists.`);
      if (!response.ok) throw new Error(await responseMessage(response));
      clearMessage();
      toggleFolderForm(false);
      refresh(name);
    } catch (err) {
      showMessage(`Could not create the folder: ${err.message}`);
    }
  });

  // ---------------------------------------------------------------- uploads

  const fileInput = $('file-input');
  const uploadsCard = $('uploads-card');
  const uploadsEl = $('uploads');
  const uploadsSummary = $('uploads-summary');
  const queue = [];
  const items = new Set();
  let active = 0;

  function setStats(item, text) { item.stats.textContent = text; }

  function setProgress(item, fraction) {
    const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    item.fill.style.width = `${pct}%`;
    item.bar.setAttribute('aria-valuenow', String(pct));
  }

  function setState(item, state) {
    item.state = state;
    item.li.dataset.state = state;
  }

  function setButtons(item, ...buttons) {
    item.buttons.replaceChildren(...buttons);
  }

  function button(label, aria, onclick, cls) {
    return el('button', { type: 'button', class: `btn small${cls ? ` ${cls}` : ''}`, 'aria-label': aria, onclick }, label);
  }

  function createItem(file) {
    const item = { file, state: 'queued', replace: false, xhr: null };
    item.stats = el('span', { class: 'upload-stats', text: 'Waiting…' });
    item.fill = el('div', { class: 'fill' });
    item.bar = el('div', {
      class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
      'aria-label': `Upload of ${file.name}`,
    }, item.fill);
    item.buttons = el('span', { class: 'upload-buttons' });
    item.name = el('span', { class: 'upload-name', text: file.name, title: file.name });
    item.li = el('li', { class: 'upload', 'data-state': 'queued' },
      el('div', { class: 'upload-head' }, item.name, item.stats, item.buttons),
      item.bar);
    item.li.dataset.name = file.name;
    setButtons(item, button('Cancel', `Cancel upload of ${file.name}`, () => cancel(item), 'cancel'));
    uploadsEl.append(item.li);
    uploadsCard.hidden = false;
    items.add(item);
    return item;
  }

  function enqueue(item) {
    setState(item, 'queued');
    setProgress(item, 0);
    setStats(item, 'Waiting…');
    setButtons(item, button('Cancel', `Cancel upload of ${item.file.name}`, () => cancel(item), 'cancel'));
    queue.push(item);
  }

  function addFiles(files) {
    clearMessage();
    for (const file of files) {
      const item = createItem(file);
      if (file.size > maxFileSize) {
        fail(item, `This file is ${humanSize(file.size)}; the server accepts files up to ${humanSize(maxFileSize)}.`);
        continue;
      }
      enqueue(item);
    }
    pump();
  }

  function pump() {
    while (active < MAX_PARALLEL && queue.length) start(queue.shift());
    updateSummary();
  }

  function start(item) {
    active += 1;
    setState(item, 'active');
    setStats(item, 'Starting…');
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    item.started = performance.now();
    item.samples = [[item.started, 0]];
    let settled = false;
    const settle = (fn) => {
      if (settled) return;
      settled = true;
      active -= 1;
      item.xhr = null;
      fn();
      pump();
    };
    xhr.open('PUT', dirPath + encodeURIComponent(item.file.name));
    // Never overwrite by accident: an existing name answers 412 and the
    // user chooses.
    if (!item.replace) xhr.setRequestHeader('If-None-Match', '*');
    xhr.upload.onprogress = (event) => {
      const total = event.lengthComputable ? event.total : item.file.size;
      progress(item, event.loaded, total);
    };
    xhr.upload.onload = () => {
      if (item.state !== 'active') return;
      setProgress(item, 1);
      setStats(item, 'Saving…');
    };
    xhr.onload = () => settle(() => {
      if (xhr.status === 200 || xhr.status === 201) succeed(item);
      else if (xhr.status === 412) exists(item);
      else fail(item, messageFrom(xhr.status, xhr.statusText, xhr.responseText));
    });
    xhr.onerror = () => settle(() => fail(item, 'The connection to the server was lost.'));
    xhr.onabort = () => settle(() => cancelled(item));
    xhr.send(item.file);
  }

  function progress(item, loaded, total) {
    if (item.state !== 'active') return;
    const now = performance.now();
    item.samples.push([now, loaded]);
    while (item.samples.length > 2 && now - item.samples[0][0] > SPEED_WINDOW_MS) item.samples.shift();
    const [t0, b0] = item.samples[0];
    const speed = now > t0 ? ((loaded - b0) * 1000) / (now - t0) : 0;
    const fraction = total > 0 ? loaded / total : 1;
    setProgress(item, fraction);
    const parts = [`${Math.floor(fraction * 100)}%`, `${humanSize(loaded)} of ${humanSize(total)}`];
    if (speed > 0) {
      parts.push(`${humanSize(Math.round(speed))}/s`);
      parts.push(`${humanTime((total - loaded) / speed)} left`);
    }
    setStats(item, parts.join(' · '));
    updateSummary();
  }

  function succeed(item) {
    setState(item, 'done');
    setProgress(item, 1);
    const seconds = (performance.now() - item.started) / 1000;
    const rate = seconds > 0 ? ` · ${humanSize(Math.round(item.file.size / seconds))}/s` : '';
    setStats(item, `Done · ${humanSize(item.file.size)} in ${humanTime(seconds)}${rate}`);
    setButtons(item);
    refresh(item.file.name);
  }

  function fail(item, message) {
    setState(item, 'error');
    setStats(item, message);
    setButtons(item,
      button('Retry', `Retry upload of ${item.file.name}`, () => { enqueue(item); pump(); }),
      button('Remove', `Remove ${item.file.name} from the list`, () => remove(item)));
    updateSummary();
  }

  function exists(item) {
    setState(item, 'exists');
    setStats(item, 'A file with this name already exists here.');
    setButtons(item,
      button('Replace', `Replace the existing ${item.file.name}`, () => { item.replace = true; enqueue(item); pump(); }),
      button('Skip', `Skip ${item.file.name}`, () => remove(item)));
    updateSummary();
  }

  function cancelled(item) {
    setState(item, 'cancelled');
    setStats(item, 'Cancelled');
    setButtons(item,
      button('Retry', `Retry upload of ${item.file.name}`, () => { enqueue(item); pump(); }),
      button('Remove', `Remove ${item.file.name} from the list`, () => remove(item)));
    updateSummary();
  }

  function cancel(item) {
    if (item.state === 'queued') {
      const i = queue.indexOf(item);
      if (i >= 0) queue.splice(i, 1);
      cancelled(item);
    } else if (item.state === 'active' && item.xhr) {
      item.xhr.abort();
    }
  }

  function remove(item) {
    items.delete(item);
    item.li.remove();
    if (!items.size) uploadsCard.hidden = true;
    updateSummary();
  }

  function updateSummary() {
    const all = [...items];
    const count = (state) => all.filter((i) => i.state === state).length;
    const running = count('active') + count('queued');
    const done = count('done');
    const problems = count('error') + count('exists') + count('cancelled');
    const parts = [];
    if (running) parts.push(`Uploading ${plural(running, 'file', 'files')}`);
    if (done) parts.push(`${done} done`);
    if (problems) parts.push(`${problems} ${problems === 1 ? 'needs' : 'need'} attention`);
    uploadsSummary.textContent = parts.join(' · ');
    document.title = running ? `(${running}) ${document.title.replace(/^\(\d+\) /, '')}` : document.title.replace(/^\(\d+\) /, '');
  }

  $('clear-finished').addEventListener('click', () => {
    for (const item of [...items]) if (item.state === 'done' || item.state === 'cancelled') remove(item);
  });

  fileInput.addEventListener('change', () => {
    const files = Array.from(fileInput.files || []);
    fileInput.value = '';
    if (files.length) addFiles(files);
  });

  window.addEventListener('beforeunload', (event) => {
    if (active > 0 || queue.length > 0) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  // ---------------------------------------------------------------- drag and drop

  const dropEl = $('drop');
  let dragDepth = 0;
  const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes('Files');
  document.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) body.classList.remove('dragging');
  });
  document.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    body.classList.remove('dragging');
    const files = [];
    let folders = 0;
    const list = event.dataTransfer.items;
    if (list && list.length) {
      for (const entry of list) {
        if (entry.kind !== 'file') continue;
        const fsEntry = entry.webkitGetAsEntry ? entry.webkitGetAsEntry() : null;
        if (fsEntry && fsEntry.isDirectory) {
          folders += 1;
          continue;
        }
        const file = entry.getAsFile();
        if (file) files.push(file);
      }
    } else {
      files.push(...event.dataTransfer.files);
    }
    if (files.length) addFiles(files);
    if (folders) {
      showMessage(`${plural(folders, 'folder was', 'folders were')} skipped: drop the files inside, or create the folder with “New folder”.`, 'info');
    }
  });
  dropEl.addEventListener('dragover', () => dropEl.classList.add('over'));
  dropEl.addEventListener('dragleave', () => dropEl.classList.remove('over'));
  dropEl.addEventListener('drop', () => dropEl.classList.remove('over'));
})();
