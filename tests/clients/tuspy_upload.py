#!/usr/bin/env python3
"""Upload one file to a ringdrop tus endpoint with tuspy (pinned in
requirements.txt), optionally stopping after given offsets and resuming
from the server's offset the way tuspy does it (a new Uploader given the
upload URL, or the fingerprint URL storage, asks HEAD for the offset).

    pip install -r tests/clients/requirements.txt
    python3 tests/clients/tuspy_upload.py --endpoint http://127.0.0.1:PORT/dir/ \\
        --file big.bin [--chunk-size 1048576] [--stop-after 1000000,5000000] \\
        [--checksum] [--upload-url URL] [--url-storage FILE] [--terminate] \\
        [--header 'Authorization: Basic ...'] [--metadata k=v]

Prints one JSON object: {"ok", "size", "uploadUrl", "finalOffset",
"attempts": [{"startOffset", "bytesSent", "endOffset", "stopped"}],
"terminated", "error"}. Exit status 0 on success, 1 on failure, 2 on bad
usage. tuspy stops cleanly between PATCHes (`upload(stop_at=N)` sends
exactly up to N), so a stop here ends a request, it does not cut one; use
tus-js-upload.mjs to cut a connection mid-body.
"""

import argparse
import json
import os
import sys
import tempfile


def byte_counts(text):
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise argparse.ArgumentTypeError(f"not a byte count: {part}")
        out.append(int(part))
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", help="creation endpoint: a ringdrop directory URL ending in /")
    p.add_argument("--file", required=True, help="the file to upload")
    p.add_argument("--chunk-size", type=int, default=None, help="bytes per PATCH (default: all)")
    p.add_argument(
        "--stop-after",
        type=byte_counts,
        default=[],
        help="comma-separated offsets: stop there, then resume from the server's offset",
    )
    p.add_argument("--checksum", action="store_true", help="send Upload-Checksum (sha1) per PATCH")
    p.add_argument("--upload-url", help="resume this upload instead of creating one")
    p.add_argument("--url-storage", help="tuspy fingerprint storage file (enables store_url)")
    p.add_argument("--terminate", action="store_true", help="after the first stop, DELETE the upload")
    p.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    p.add_argument("--metadata", action="append", default=[], help="k=v (repeatable)")
    args = p.parse_args(argv)
    if not args.endpoint and not args.upload_url:
        p.error("--endpoint or --upload-url is required")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        import requests
        from tusclient import client as tus_client
        from tusclient.storage import filestorage
    except ImportError as e:
        print(f"tuspy is not installed (pip install -r tests/clients/requirements.txt): {e}", file=sys.stderr)
        return 2

    headers = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            print(f"bad --header {h!r}", file=sys.stderr)
            return 2
        headers[name.strip()] = value.strip()
    metadata = {"filename": os.path.basename(args.file)}
    for m in args.metadata:
        k, sep, v = m.partition("=")
        if not sep or not k:
            print(f"bad --metadata {m!r}", file=sys.stderr)
            return 2
        metadata[k] = v

    size = os.path.getsize(args.file)
    result = {
        "ok": False,
        "size": size,
        "uploadUrl": args.upload_url,
        "finalOffset": None,
        "attempts": [],
        "terminated": None,
        "error": None,
    }
    client = tus_client.TusClient(args.endpoint or args.upload_url, headers=headers)
    storage = None
    if args.url_storage:
        storage = filestorage.FileStorage(args.url_storage)
    else:
        storage = filestorage.FileStorage(os.path.join(tempfile.mkdtemp(prefix="tuspy-"), "urls.json"))

    def uploader():
        kwargs = dict(
            file_path=args.file,
            metadata=metadata,
            upload_checksum=args.checksum,
            store_url=True,
            url_storage=storage,
        )
        if args.chunk_size:
            kwargs["chunk_size"] = args.chunk_size
        if result["uploadUrl"]:
            kwargs["url"] = result["uploadUrl"]
        # With a URL (given, stored, or from the last attempt) the
        # constructor asks the server for the offset with HEAD.
        return client.uploader(**kwargs)

    try:
        stops = list(args.stop_after)
        while True:
            up = uploader()
            start = up.offset
            stop_at = stops.pop(0) if stops else None
            attempt = {"startOffset": start, "bytesSent": 0, "endOffset": None, "stopped": False}
            result["attempts"].append(attempt)
            if stop_at is not None and stop_at < size:
                up.upload(stop_at=max(stop_at, start + 1))
                attempt["stopped"] = True
            else:
                up.upload()
            result["uploadUrl"] = up.url
            attempt["endOffset"] = up.offset
            attempt["bytesSent"] = up.offset - start
            if not attempt["stopped"]:
                result["finalOffset"] = up.offset
                break
            if args.terminate:
                resp = requests.delete(up.url, headers={"Tus-Resumable": "1.0.0", **headers})
                result["terminated"] = resp.status_code == 204
                if not result["terminated"]:
                    raise RuntimeError(f"DELETE answered {resp.status_code}")
                break
        result["ok"] = result["finalOffset"] in (None, size) if args.terminate else result["finalOffset"] == size
    except Exception as e:  # report any client error as JSON
        result["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
