// ringdrop listing page: uploads (one PUT per file, with progress; large
// files resumably through the server's tus endpoint, retried from the
// server's offset and resumable after a reload), drag and drop, new folder
// (MKCOL), delete (DELETE), and a listing that re-renders from `?json` after
// every change. Embedded in the binary; no dependencies.
//
// Names are only ever put in the page with textContent / attributes set from
// JavaScript, never as HTML.
(() => {
  'use strict';

  const body = document.body;
  const dirPath = body.dataset.path || '/'; // percent-encoded, ends with '/'
  // Requests go to absolute URLs on the page's origin: a page opened at
  // http://user:pass@host/ would otherwise resolve relative URLs with the
  // credentials in them, which fetch() refuses (the browser still sends
  // the credentials it signed in with).
  const at = (path) => new URL(path, window.location.origin).href;
  const readOnly = body.dataset.readOnly === 'true';
  const allowDelete = body.dataset.allowDelete === 'true';
  // A drop box: uploads allowed, the listing not (nothing to refresh).
  const dropBox = body.dataset.dropBox === 'true';
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
    if (dropBox) return Promise.resolve();
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
          const response = await fetch(at(`${dirPath}?json`), { headers: { Accept: 'application/json' }, cache: 'no-store' });
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
      const response = await fetch(at(dirPath + button.dataset.delete), { method: 'DELETE' });
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
      const response = await fetch(at(`${dirPath}${encodeURIComponent(name)}/`), { method: 'MKCOL' });
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

  const MIB = 1024 * 1024;
  /**
   * Files larger than this upload resumably (tus); smaller ones in one PUT.
   * Sending a small file again costs little, and the PUT is one request
   * (tus is three: existence check, creation, PATCH) with the server's own
   * `If-None-Match` answer to a name that exists.
   */
  const RESUMABLE_THRESHOLD = 8 * MIB;
  /**
   * The most bytes one PATCH carries. Each PATCH ends with an offset the
   * server has on disk; behind a proxy that buffers request bodies, a cut
   * loses at most one chunk.
   */
  const CHUNK_BYTES = 64 * MIB;
  /** The first retry waits about this long (ms); each next one twice as long… */
  const RETRY_BASE_MS = 1000;
  /** …up to this (ms). */
  const RETRY_CAP_MS = 30000;
  /** Failed attempts in a row, without the server's offset moving, before giving up. */
  const MAX_ATTEMPTS = 8;
  /** A PATCH whose body has not moved for this long (ms) is given up and retried. */
  const STALL_MS = 30000;
  /** A creation, HEAD or DELETE unanswered for this long (ms) is retried. */
  const REQUEST_TIMEOUT_MS = 30000;
  /** localStorage keys of unfinished resumable uploads start with this. */
  const STORE_PREFIX = 'ringdrop.upload ';

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

  function cancelButton(item) {
    return button('Cancel', `Cancel upload of ${item.file.name}`, () => cancel(item), 'cancel');
  }

  const resumable = (item) => item.file.size > RESUMABLE_THRESHOLD && !item.replace;

  function createItem(file) {
    const item = { file, state: 'queued', replace: false, keepBoth: false, abort: null };
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
    setButtons(item, cancelButton(item));
    uploadsEl.append(item.li);
    uploadsCard.hidden = false;
    items.add(item);
    return item;
  }

  function enqueue(item) {
    setState(item, 'queued');
    setProgress(item, 0);
    setStats(item, 'Waiting…');
    setButtons(item, cancelButton(item));
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
    item.cancelRequested = false;
    item.started = performance.now();
    item.startOffset = 0;
    item.samples = [[item.started, 0]];
    let settled = false;
    const settle = (fn) => {
      if (settled) return;
      settled = true;
      active -= 1;
      item.abort = null;
      fn();
      pump();
    };
    item.li.dataset.method = resumable(item) ? 'tus' : 'put';
    if (!resumable(item)) {
      startPut(item, settle);
      return;
    }
    runResumable(item).then(
      (outcome) => settle(() => {
        if (outcome === 'done') succeed(item);
        else if (outcome === 'exists') exists(item);
        else if (outcome === 'cancelled') terminate(item);
        else fail(item, outcome.error);
      }),
      (err) => settle(() => fail(item, `The upload stopped: ${err && err.message ? err.message : err}`)),
    );
  }

  /** A file in one PUT, as the server's plain upload. */
  function startPut(item, settle) {
    const xhr = new XMLHttpRequest();
    item.abort = () => xhr.abort();
    xhr.open('PUT', at(dirPath + encodeURIComponent(item.file.name)));
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

  // ------------------------------------------------ resumable uploads (tus)
  //
  // A large file goes through the server's tus 1.0 endpoint: a creation
  // (`POST` to this directory with `Upload-Length` and the file name in
  // `Upload-Metadata`) answers the upload's URL, and PATCHes append the
  // bytes. A failed attempt (the connection dropped, the server was busy)
  // is tried again after a growing, jittered pause, each time from the
  // offset the server reports to a HEAD. The upload's URL is kept in
  // localStorage until the file is complete, so after a reload the same
  // file, chosen again, continues where it stopped.

  /** Why an attempt ended. `retry`: trying again may help; `now`: without a
   * pause; `gone`: the upload is unknown or expired, start a new one;
   * `after`: the server's Retry-After (ms). */
  class UploadError extends Error {
    constructor(message, options) {
      super(message);
      Object.assign(this, { retry: false, now: false, gone: false, cancelled: false, after: 0 }, options);
    }
  }

  const lostConnection = () => new UploadError('The connection to the server was lost.', { retry: true });
  const cancelledError = () => new UploadError('Cancelled', { cancelled: true });
  /** Statuses that say "not now" rather than "no". */
  const RETRY_STATUSES = new Set([408, 423, 429, 500, 502, 503, 504]);

  function retryAfterMs(value) {
    const seconds = Number(value);
    return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, RETRY_CAP_MS) : 0;
  }

  function refusal(status, message, retryAfter) {
    return new UploadError(message, { retry: RETRY_STATUSES.has(status), after: retryAfterMs(retryAfter) });
  }

  // The unfinished uploads, in localStorage (which may be unavailable:
  // then resuming after a reload is, too).
  function storeKey(file) {
    return STORE_PREFIX + JSON.stringify([dirPath, file.name, file.size, file.lastModified]);
  }
  function recall(file) {
    try {
      const saved = JSON.parse(localStorage.getItem(storeKey(file)));
      return saved && typeof saved.url === 'string' && saved.url.startsWith('/') ? saved : null;
    } catch (_) { return null; }
  }
  function remember(file, url, expires) {
    try {
      localStorage.setItem(storeKey(file), JSON.stringify({ url, name: file.name, size: file.size, expires }));
    } catch (_) { /* full or unavailable */ }
  }
  function forget(file) {
    try { localStorage.removeItem(storeKey(file)); } catch (_) { /* unavailable */ }
  }
  /** Unfinished uploads into this directory; expired entries are removed. */
  function storedHere() {
    const here = [];
    try {
      for (let i = localStorage.length - 1; i >= 0; i -= 1) {
        const key = localStorage.key(i);
        if (!key || !key.startsWith(STORE_PREFIX)) continue;
        let saved = null;
        let dir = null;
        try {
          saved = JSON.parse(localStorage.getItem(key));
          dir = JSON.parse(key.slice(STORE_PREFIX.length))[0];
        } catch (_) { /* unreadable: removed below */ }
        if (!saved || typeof saved.url !== 'string' || !(saved.expires > Date.now())) {
          localStorage.removeItem(key);
        } else if (dir === dirPath) {
          here.push(saved);
        }
      }
    } catch (_) { /* unavailable */ }
    return here;
  }

  /** When the server forgets the upload (`Upload-Expires`), in ms. */
  function expiresAt(headers) {
    const when = Date.parse(headers.get('Upload-Expires') || '');
    return Number.isFinite(when) ? when : Date.now() + 24 * 3600 * 1000;
  }

  function base64(text) {
    let binary = '';
    for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  /** A tus request without a body (creation, HEAD, DELETE), cancellable
   * with the item and timed out; network errors and timeouts are retried. */
  async function tusRequest(item, method, path, headers) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, REQUEST_TIMEOUT_MS);
    item.abort = () => controller.abort();
    try {
      return await fetch(at(path), {
        method, headers: { 'Tus-Resumable': '1.0.0', ...headers }, cache: 'no-store', signal: controller.signal,
      });
    } catch (_) {
      if (item.cancelRequested) throw cancelledError();
      throw timedOut ? new UploadError('The server did not answer.', { retry: true }) : lostConnection();
    } finally {
      clearTimeout(timer);
      item.abort = null;
    }
  }

  /** Whether a file of this name is in the directory already (a HEAD of
   * its URL). A drop box cannot tell: its uploads get a new name instead. */
  async function existsOnServer(item) {
    if (dropBox || item.keepBoth) return false;
    const response = await tusRequest(item, 'HEAD', dirPath + encodeURIComponent(item.file.name), {});
    return response.status === 200 && !response.redirected;
  }

  /** tus creation: the upload's URL (a path on this origin). */
  async function createUpload(item) {
    const file = item.file;
    setStats(item, 'Starting…');
    const response = await tusRequest(item, 'POST', dirPath, {
      'Upload-Length': String(file.size),
      'Upload-Metadata': `filename ${base64(file.name)}`,
    });
    if (response.status !== 201) {
      throw refusal(response.status, await responseMessage(response), response.headers.get('Retry-After'));
    }
    const location = response.headers.get('Location');
    if (!location) throw new UploadError('The server did not say where to send the file.');
    const url = new URL(location, window.location.origin);
    const path = url.pathname + url.search;
    remember(file, path, expiresAt(response.headers));
    return path;
  }

  /** tus HEAD: the offset the server has on disk. */
  async function serverOffset(item, url) {
    const file = item.file;
    const response = await tusRequest(item, 'HEAD', url, {});
    // Unknown, expired, or another identity's (signed in as someone else).
    if (response.status === 404 || response.status === 410 || response.status === 403) {
      throw new UploadError('The unfinished upload is gone.', { gone: true, retry: true, now: true });
    }
    if (response.status !== 200) {
      throw refusal(response.status, messageFrom(response.status, response.statusText, ''), response.headers.get('Retry-After'));
    }
    const offset = Number(response.headers.get('Upload-Offset'));
    const length = response.headers.get('Upload-Length');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > file.size || (length !== null && Number(length) !== file.size)) {
      throw new UploadError('The unfinished upload is of another file.', { gone: true, retry: true, now: true });
    }
    remember(file, url, expiresAt(response.headers));
    return offset;
  }

  /** One PATCH of the bytes [offset, end): resolves with the server's new
   * offset (and the file's URL once it is complete). */
  function sendChunk(item, url, offset, end) {
    const size = item.file.size;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      let stalled = false;
      let watchdog = null;
      const watch = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => { stalled = true; xhr.abort(); }, STALL_MS);
      };
      const settle = (fn) => {
        clearTimeout(watchdog);
        window.removeEventListener('offline', goneOffline);
        item.abort = null;
        fn();
      };
      // The browser knows it lost the network: the connection is gone
      // (or soon will be), do not wait for it to time out.
      let offline = false;
      const goneOffline = () => { offline = true; xhr.abort(); };
      window.addEventListener('offline', goneOffline);
      item.abort = () => xhr.abort();
      xhr.open('PATCH', at(url));
      xhr.setRequestHeader('Tus-Resumable', '1.0.0');
      xhr.setRequestHeader('Upload-Offset', String(offset));
      xhr.setRequestHeader('Content-Type', 'application/offset+octet-stream');
      xhr.upload.onprogress = (event) => {
        watch();
        progress(item, offset + event.loaded, size);
      };
      xhr.upload.onload = () => {
        // The body is out; the server syncs (and, after the last byte,
        // commits) before it answers.
        clearTimeout(watchdog);
        if (end === size && item.state === 'active') setStats(item, 'Saving…');
      };
      xhr.onload = () => settle(() => {
        const next = Number(xhr.getResponseHeader('Upload-Offset'));
        if (xhr.status === 204 && Number.isSafeInteger(next) && next > offset && next <= size) {
          resolve({ offset: next, location: xhr.getResponseHeader('Content-Location') });
        } else if (xhr.status === 204) {
          reject(new UploadError('The server took none of the bytes.', { retry: true }));
        } else if (xhr.status === 409) {
          // Not the server's offset: ask it (HEAD) and go on from there.
          reject(new UploadError('The upload was out of step.', { retry: true, now: true }));
        } else if (xhr.status === 404 || xhr.status === 410) {
          reject(new UploadError('The unfinished upload is gone.', { gone: true, retry: true, now: true }));
        } else {
          reject(refusal(xhr.status, messageFrom(xhr.status, xhr.statusText, xhr.responseText), xhr.getResponseHeader('Retry-After')));
        }
      });
      xhr.onerror = () => settle(() => reject(lostConnection()));
      xhr.onabort = () => settle(() => {
        if (item.cancelRequested || !(stalled || offline)) reject(cancelledError());
        else if (offline) reject(new UploadError('The network is gone.', { retry: true }));
        else reject(new UploadError('The upload stalled.', { retry: true }));
      });
      watch();
      xhr.send(item.file.slice(offset, end));
    });
  }

  /** Waits before attempt `attempt + 1`: the cap of 2^(attempt-1) × base
   * (up to RETRY_CAP_MS), jittered to between half and all of it so
   * uploads that failed together do not return together; at least the
   * server's Retry-After. While the browser is offline, it waits for the
   * network instead (that wait is not an attempt). The browser coming
   * back online, or "Retry now", ends the wait early; Cancel rejects it. */
  function backoff(item, attempt, err) {
    const offline = navigator.onLine === false;
    const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
    const delay = Math.max(err.after, ceiling / 2 + Math.random() * (ceiling / 2));
    const until = performance.now() + delay;
    return new Promise((resolve, reject) => {
      let ticker = null;
      let timer = null;
      let over = false;
      const finish = (fn) => {
        if (over) return;
        over = true;
        clearInterval(ticker);
        clearTimeout(timer);
        window.removeEventListener('online', wake);
        item.abort = null;
        setButtons(item, cancelButton(item));
        setState(item, 'active');
        fn();
      };
      const wake = () => finish(resolve);
      const tick = () => {
        const left = Math.max(1, Math.ceil((until - performance.now()) / 1000));
        setStats(item, `${err.message} Retrying in ${left} s (attempt ${attempt + 1} of ${MAX_ATTEMPTS})…`);
      };
      setState(item, 'retrying');
      if (offline) {
        setStats(item, `${err.message} You are offline: the upload goes on when the network is back.`);
      } else {
        tick();
        ticker = setInterval(tick, 250);
        timer = setTimeout(wake, delay);
      }
      window.addEventListener('online', wake);
      item.abort = () => finish(() => reject(cancelledError()));
      setButtons(item,
        button('Retry now', `Retry upload of ${item.file.name} now`, wake),
        cancelButton(item));
      updateSummary();
    });
  }

  /** Remembered uploads (their storeKey) that an item of this page is
   * sending: the same file chosen twice at once is refused, not sent
   * twice into one upload. */
  const claimed = new Set();

  /** The whole resumable upload of `item`: 'done', 'exists', 'cancelled',
   * or `{ error }` once giving up. */
  async function runResumable(item) {
    const key = storeKey(item.file);
    if (claimed.has(key)) return { error: 'This file is being uploaded here already.' };
    claimed.add(key);
    try {
      return await sendResumable(item);
    } finally {
      claimed.delete(key);
    }
  }

  async function sendResumable(item) {
    const file = item.file;
    let url = (recall(file) || {}).url || null;
    let offset = 0; // the last offset the server confirmed
    let attempts = 0; // failed in a row, without the offset moving
    item.url = url;
    item.resumedFrom = null;
    for (;;) {
      try {
        if (url) {
          setStats(item, 'Asking the server where to continue…');
          const known = await serverOffset(item, url);
          if (known > offset) attempts = 0;
          if (item.resumedFrom === null) {
            // The first answer about a remembered upload: resuming.
            item.resumedFrom = known;
            item.startOffset = known;
            item.li.dataset.resumedFrom = String(known);
            if (known > 0) setStats(item, `Resuming from ${humanSize(known)}…`);
          }
          offset = known;
        } else {
          if (await existsOnServer(item)) return 'exists';
          url = await createUpload(item);
          item.url = url;
          if (item.resumedFrom === null) item.resumedFrom = 0;
          offset = 0;
        }
        setProgress(item, offset / file.size);
        item.samples = [[performance.now(), offset]];
        while (offset < file.size) {
          const sent = await sendChunk(item, url, offset, Math.min(file.size, offset + CHUNK_BYTES));
          offset = sent.offset;
          attempts = 0;
          if (sent.location) item.savedAs = sent.location;
        }
        forget(file);
        return 'done';
      } catch (err) {
        if (!(err instanceof UploadError)) throw err;
        if (err.cancelled || item.cancelRequested) return 'cancelled';
        if (!err.retry) return { error: err.message };
        if (err.gone) {
          // Start over, cleanly: a new upload from byte 0.
          forget(file);
          url = null;
          item.url = null;
          offset = 0;
        }
        // Offline, nothing can succeed: waiting for the network is no attempt.
        if (navigator.onLine !== false) attempts += 1;
        if (attempts >= MAX_ATTEMPTS) {
          return { error: `${err.message} Gave up after ${MAX_ATTEMPTS} attempts; Retry continues from ${humanSize(offset)}.` };
        }
        // The bar stays where it was until the server says (HEAD) where
        // the upload stands.
        if (!err.now) {
          try {
            await backoff(item, attempts, err);
          } catch (_) {
            return 'cancelled';
          }
        }
      }
    }
  }

  /** After Cancel: the server drops the unfinished upload (tus termination),
   * and the page forgets it. */
  function terminate(item) {
    cancelled(item);
    const url = item.url;
    forget(item.file);
    item.url = null;
    if (!url) return;
    (async () => {
      // The cut PATCH may still be recording what it received (423).
      for (let tries = 0; tries < 3; tries += 1) {
        try {
          const response = await fetch(at(url), { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } });
          if (response.status !== 423) return;
        } catch (_) { return; }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
  }

  // ------------------------------------------------ the upload list

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

  /** The name the server stored the file under (tus picks a new one when
   * the name was taken meanwhile), from its URL. */
  function savedName(item) {
    if (!item.savedAs) return item.file.name;
    try {
      const path = new URL(item.savedAs, window.location.origin).pathname;
      return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || item.file.name;
    } catch (_) { return item.file.name; }
  }

  function succeed(item) {
    setState(item, 'done');
    setProgress(item, 1);
    const seconds = (performance.now() - item.started) / 1000;
    const sent = item.file.size - (item.startOffset || 0);
    const rate = seconds > 0 && sent > 0 ? ` · ${humanSize(Math.round(sent / seconds))}/s` : '';
    const parts = [`Done · ${humanSize(item.file.size)} in ${humanTime(seconds)}${rate}`];
    if (item.resumedFrom > 0) parts.push(`resumed from ${humanSize(item.resumedFrom)}`);
    const name = savedName(item);
    if (name !== item.file.name) parts.push(`saved as “${name}”`);
    item.li.dataset.savedAs = name;
    setStats(item, parts.join(' · '));
    setButtons(item);
    refresh(name);
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
    const choices = [
      button('Replace', `Replace the existing ${item.file.name}`, () => { item.replace = true; enqueue(item); pump(); }),
    ];
    if (item.file.size > RESUMABLE_THRESHOLD) {
      // A resumable upload never replaces: the server gives it a free name.
      choices.push(button('Keep both', `Upload ${item.file.name} under a new name`, () => { item.keepBoth = true; enqueue(item); pump(); }));
    }
    choices.push(button('Skip', `Skip ${item.file.name}`, () => remove(item)));
    setButtons(item, ...choices);
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
    } else if (item.state === 'active' || item.state === 'retrying') {
      item.cancelRequested = true;
      if (item.abort) item.abort();
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
    const running = count('active') + count('retrying') + count('queued');
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

  // Uploads a reload (or a closed tab) left unfinished here: the same file,
  // chosen again, continues where it stopped.
  const unfinished = storedHere();
  if (unfinished.length) {
    const names = unfinished.map((u) => `“${u.name}” (${humanSize(u.size)})`).join(', ');
    showMessage(`${unfinished.length === 1 ? 'An upload' : 'Uploads'} into this folder did not finish: ${names}. Choose or drop the same ${unfinished.length === 1 ? 'file' : 'files'} again to continue where ${unfinished.length === 1 ? 'it' : 'they'} stopped.`, 'info');
  }

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
