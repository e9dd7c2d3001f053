#!/usr/bin/env node
// Uploads one file to a ringdrop tus / IETF endpoint with tus-js-client
// (the version pinned in package.json), optionally cutting the connection
// after given offsets and resuming from the server's offset with the
// client's own resume support (URL storage + findPreviousUploads). Prints
// one JSON object on stdout; exit status 0 on success, 1 on failure, 2 on
// bad usage.
//
//   npm ci --prefix tests/clients
//   node tests/clients/tus-js-upload.mjs --endpoint http://127.0.0.1:PORT/dir/ \
//        --file big.bin [--chunk-size 1048576] [--protocol tus-v1|ietf-draft-05] \
//        [--abort-after 1000000,5000000] [--upload-url URL] [--defer-length] \
//        [--terminate] [--header 'Authorization: Basic …'] [--metadata k=v]
//
// Output: {"ok","protocol","size","uploadUrl","finalOffset","attempts":[
//   {"startOffset","bytesSent","endOffset","aborted"}], "terminated", "error"}
// `startOffset` is the first `Upload-Offset` the attempt sent (the server's
// offset after a resume), `bytesSent` the body bytes it handed to the
// socket, `endOffset` the offset it reached (the cut point, or the last
// offset the server acknowledged). Bytes re-sent after a cut are
// `endOffset[n] - startOffset[n+1]`.
//
// The cut is exact: an HTTP stack wrapped around tus-js-client's own passes
// each PATCH body through a counter that stops at the cut offset, lets the
// bytes before it drain to the server, then aborts the request (the socket
// is destroyed mid-body, as when a connection drops).

import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { parseArgs } from 'node:util'

const USAGE = `usage: node tus-js-upload.mjs --endpoint URL --file PATH [options]
  --endpoint URL          creation endpoint: a ringdrop directory URL ending in /
  --file PATH             the file to upload
  --chunk-size N          bytes per PATCH (default: whole file in one PATCH)
  --protocol P            tus-v1 (default) or ietf-draft-05
  --abort-after LIST      comma-separated offsets: cut the connection once the
                          client has sent past each, then resume (one attempt each)
  --upload-url URL        resume this upload instead of creating one
  --url-storage FILE      tus-js-client URL storage (default: a temp file)
  --defer-length          create with Upload-Defer-Length (file read into memory;
                          --abort-after is ignored)
  --terminate             after the first cut, DELETE the upload and stop
  --header 'Name: value'  extra request header (repeatable)
  --metadata k=v          extra Upload-Metadata pair (repeatable; filename is set)
  --retry-delays LIST     ms between retries (default 0,500,1000,2000,4000)`

function usage(message) {
  if (message) process.stderr.write(`${message}\n`)
  process.stderr.write(`${USAGE}\n`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      endpoint: { type: 'string' },
      file: { type: 'string' },
      'chunk-size': { type: 'string' },
      protocol: { type: 'string', default: 'tus-v1' },
      'abort-after': { type: 'string' },
      'upload-url': { type: 'string' },
      'url-storage': { type: 'string' },
      'defer-length': { type: 'boolean', default: false },
      terminate: { type: 'boolean', default: false },
      header: { type: 'string', multiple: true, default: [] },
      metadata: { type: 'string', multiple: true, default: [] },
      'retry-delays': { type: 'string', default: '0,500,1000,2000,4000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values
} catch (err) {
  usage(err.message)
}
if (args.help) usage()
if (!args.file || (!args.endpoint && !args['upload-url'])) usage('--file and --endpoint (or --upload-url) are required')
if (!['tus-v1', 'ietf-draft-05'].includes(args.protocol)) usage(`unknown --protocol ${args.protocol}`)

const numbers = (text) =>
  (text ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const n = Number(s)
      if (!Number.isSafeInteger(n) || n < 0) usage(`not a byte count: ${s}`)
      return n
    })

// Import after the usage checks, so `--help` works before `npm ci`.
let tus
try {
  tus = await import('tus-js-client')
} catch (err) {
  usage(`tus-js-client is not installed (npm ci --prefix tests/clients): ${err.message}`)
}

const file = path.resolve(args.file)
const size = fs.statSync(file).size
const chunkSize = args['chunk-size'] ? numbers(args['chunk-size'])[0] : Number.POSITIVE_INFINITY
const aborts = numbers(args['abort-after'])
const headers = {}
for (const h of args.header) {
  const at = h.indexOf(':')
  if (at < 1) usage(`bad --header ${h}`)
  headers[h.slice(0, at).trim()] = h.slice(at + 1).trim()
}
const metadata = { filename: path.basename(file) }
for (const m of args.metadata) {
  const at = m.indexOf('=')
  if (at < 1) usage(`bad --metadata ${m}`)
  metadata[m.slice(0, at)] = m.slice(at + 1)
}
const storagePath =
  args['url-storage'] ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tus-js-')), 'urls.json')

const result = {
  ok: false,
  protocol: args.protocol,
  size,
  uploadUrl: args['upload-url'] ?? null,
  finalOffset: null,
  attempts: [],
  terminated: null,
  error: null,
}

/** Milliseconds the bytes before a cut get to reach the server. */
const DRAIN_MS = 300

// tus-js-client's Node HTTP stack, with every request body counted and,
// when `cut` is set, stopped at `cut.at` (an absolute upload offset).
class CuttingHttpStack {
  constructor(inner) {
    this.inner = inner
    this.cut = null
    this.onBody = () => {}
    this.onBytes = () => {}
  }

  createRequest(method, url) {
    const req = this.inner.createRequest(method, url)
    const send = req.send.bind(req)
    req.send = (body) => {
      if (!(body instanceof Readable)) return send(body)
      const start = Number(req.getHeader('Upload-Offset') ?? 0)
      const end = start + (body.size ?? Number.POSITIVE_INFINITY)
      const cut = this.cut && this.cut.at >= start && this.cut.at < end ? this.cut : null
      this.onBody(start)
      let pos = start
      const stack = this
      const counter = new Transform({
        transform(chunk, _encoding, callback) {
          if (cut && pos >= cut.at) {
            callback() // past the cut: swallow, the request is about to die
            return
          }
          const part = cut && pos + chunk.length > cut.at ? chunk.subarray(0, cut.at - pos) : chunk
          pos += part.length
          stack.onBytes(part.length, pos)
          if (cut && pos >= cut.at) cut.fire(pos)
          callback(null, part)
        },
      })
      // Keep Content-Length framing (the stack reads `size`).
      counter.size = body.size
      return send(body.pipe(counter))
    }
    return req
  }

  getName() {
    return `cutting ${this.inner.getName()}`
  }
}

const stack = new CuttingHttpStack(new tus.DefaultHttpStack({}))

function baseOptions() {
  return {
    endpoint: args.endpoint,
    uploadUrl: args['upload-url'],
    protocol: args.protocol,
    chunkSize,
    headers,
    metadata,
    uploadSize: args['defer-length'] ? undefined : size,
    uploadLengthDeferred: args['defer-length'],
    retryDelays: numbers(args['retry-delays']),
    urlStorage: new tus.FileUrlStorage(storagePath),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    httpStack: stack,
  }
}

// One attempt: resolves with 'done' or 'aborted', or rejects with the
// client's error.
function attempt(abortAt, resume) {
  return new Promise((resolve, reject) => {
    const record = { startOffset: null, bytesSent: 0, endOffset: null, aborted: false }
    result.attempts.push(record)
    let upload
    let settled = false
    const settle = (f, v) => {
      if (!settled) {
        settled = true
        f(v)
      }
    }
    stack.onBody = (start) => {
      if (record.startOffset === null) record.startOffset = start
    }
    stack.onBytes = (n) => {
      record.bytesSent += n
    }
    stack.cut =
      abortAt === undefined
        ? null
        : {
            at: abortAt,
            fire(pos) {
              record.aborted = true
              record.endOffset = pos
              stack.cut = null
              setTimeout(() => {
                // Keep the upload on the server (no termination).
                upload.abort(false).then(() => settle(resolve, 'aborted'), (e) => settle(reject, e))
              }, DRAIN_MS)
            },
          }
    const options = {
      ...baseOptions(),
      onUploadUrlAvailable() {
        result.uploadUrl = upload.url
      },
      onChunkComplete(_chunk, accepted) {
        if (!record.aborted) record.endOffset = accepted
      },
      onSuccess() {
        result.finalOffset = size
        record.endOffset = size
        settle(resolve, 'done')
      },
      onError(err) {
        settle(reject, err)
      },
    }
    // With a deferred length, tus-js-client 4.3.1's file source announces a
    // full chunk's Content-Length for the last, short slice and the upload
    // stalls; its Buffer source gets the sizes right (but bodies are then
    // not streams, so --abort-after does not apply).
    const input = args['defer-length'] ? fs.readFileSync(file) : fs.createReadStream(file)
    upload = new tus.Upload(input, options)
    const go = resume
      ? upload.findPreviousUploads().then((previous) => {
          if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
          upload.start()
        })
      : Promise.resolve(upload.start())
    go.catch((e) => settle(reject, e))
  })
}

try {
  let outcome = await attempt(aborts[0], Boolean(args['upload-url']))
  for (let i = 1; outcome === 'aborted'; i++) {
    if (args.terminate) {
      await tus.Upload.terminate(result.uploadUrl, { ...baseOptions(), retryDelays: null })
      result.terminated = true
      break
    }
    outcome = await attempt(aborts[i], true)
  }
  result.ok = true
} catch (err) {
  result.error = String(err && err.message ? err.message : err)
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(result.ok ? 0 : 1)
