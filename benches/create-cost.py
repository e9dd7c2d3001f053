#!/usr/bin/env python3
"""What one small file costs the kernel, by the way it is created.

Why: 20 000 x 4 KiB PUTs are bound by the kernel's per-file work, not by the
server's code (BENCHMARKS.md, "Small uploads"). This probe creates N files
of 4 KiB in a fresh folder, one thread, in each of the ways a server can:

  tmpfile-link   O_TMPFILE, pwrite, linkat (ringdrop: the name appears only
                 when the file is complete, nothing is left after a crash)
  hidden-rename  create a hidden name, pwrite, renameat2 (the other atomic way)
  plain          open(O_CREAT|O_TRUNC), write (what the Go peer does: a
                 reader can see a partial file, a crash leaves one)

and prints the CPU time of the process per file (user + system), the
Python-call overhead included in every variant alike. Rounds are interleaved.
Standard library only; Linux.

usage: python3 benches/create-cost.py [--dir D] [--files 20000] [--rounds 2]
"""

import argparse
import os
import resource
import tempfile

BODY = b"x" * 4096


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tmpfile_link(dir_fd, name):
    fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    os.pwrite(fd, BODY, 0)
    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
    os.close(fd)


def hidden_rename(dir_fd, name):
    hidden = "." + name + ".part"
    fd = os.open(hidden, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    os.pwrite(fd, BODY, 0)
    os.rename(hidden, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.close(fd)


def plain(dir_fd, name):
    fd = os.open(name, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    os.write(fd, BODY)
    os.close(fd)


WAYS = {"tmpfile-link": tmpfile_link, "hidden-rename": hidden_rename, "plain": plain}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=".", help="where to make the fresh folders (the filesystem under test)")
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    results = {way: [] for way in WAYS}
    for _ in range(args.rounds):
        for way, create in WAYS.items():
            # A fresh folder per run, kept until the end: deleting many files
            # makes ext4's next inode allocations slow (BENCHMARKS.md).
            folder = tempfile.mkdtemp(prefix=f"create-cost-{way}-", dir=args.dir)
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            start = cpu_seconds()
            for i in range(args.files):
                create(dir_fd, f"f{i}")
            results[way].append((cpu_seconds() - start) * 1e6 / args.files)
            os.close(dir_fd)
    for way, per_file in results.items():
        shown = ", ".join(f"{us:.1f}" for us in per_file)
        print(f"{way:14} CPU µs per 4 KiB file: {shown}")
    print(f"(folders left in {os.path.abspath(args.dir)}/create-cost-*; remove them when done)")


if __name__ == "__main__":
    main()
