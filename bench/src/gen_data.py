#!/usr/bin/env python3
"""Generates the inputs of the real-workload rows (bench/run.sh, section h).

Everything is derived from a fixed seed, so two runs of the generator give
the same bytes, and so the same outputs under every launcher. Standard
library only.

usage: gen_data.py text BYTES PATH     words and numbers, about 2:1 under gzip
       gen_data.py bytes BYTES PATH    pseudo-random bytes (for sha256sum)
       gen_data.py sql ROWS PATH       BEGIN; ROWS x INSERT; COMMIT; a query
       gen_data.py cproj FILES DIR     FILES .c files and a Makefile
       gen_data.py tree BYTES DIR      a directory tree of about BYTES
       gen_data.py gittree FILES DIR   FILES small files in 100-file dirs
"""
import os
import random
import sys

CHUNK = 1 << 20


def vocabulary(rng, n=4000):
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [26 - i for i in range(26)]
    return ["".join(rng.choices(letters, weights, k=rng.randint(2, 11))) for _ in range(n)]


def text(size, path):
    # Words drawn unevenly from a vocabulary, numbers and punctuation: gzip
    # finds repeats but has to work for them (about 2:1, not a run of one byte).
    rng = random.Random(1)
    vocab = vocabulary(rng, 30000)
    cum = []
    acc = 0.0
    for i in range(len(vocab)):  # Zipf-like: a few words are very common
        acc += 1.0 / (i + 3)
        cum.append(acc)
    written = 0
    with open(path, "w", encoding="ascii") as f:
        while written < size:
            words = rng.choices(vocab, cum_weights=cum, k=20000)
            for i in range(0, len(words), 16):
                words[i] = str(rng.randrange(1000000))
            line = []
            out = []
            for w in words:
                line.append(w)
                if len(line) >= 12:
                    out.append(" ".join(line) + ".\n")
                    line = []
            chunk = "".join(out)
            chunk = chunk[: size - written]
            f.write(chunk)
            written += len(chunk)


def randbytes(size, path):
    rng = random.Random(2)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            f.write(rng.randbytes(n))
            left -= n


def sql(rows, path):
    rng = random.Random(3)
    vocab = vocabulary(rng, 500)
    with open(path, "w", encoding="ascii") as f:
        f.write("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL);\n")
        f.write("CREATE INDEX t_name ON t (name);\n")
        f.write("BEGIN;\n")
        for i in range(rows):
            f.write("INSERT INTO t (name, qty, price) VALUES ('%s %s', %d, %d.%02d);\n"
                    % (rng.choice(vocab), rng.choice(vocab), rng.randrange(1000),
                       rng.randrange(10000), rng.randrange(100)))
        f.write("COMMIT;\n")
        f.write("SELECT count(*), sum(qty), printf('%.2f', sum(price)), count(DISTINCT name) FROM t;\n")


def cproj(files, d):
    # Each file: 12 functions with loops, switches and arithmetic, enough that
    # gcc -O2 works a little (about 0.1 s a file); main sums them all.
    rng = random.Random(4)
    os.makedirs(d, exist_ok=True)
    names = []
    for k in range(files):
        with open(os.path.join(d, "m%02d.c" % k), "w") as f:
            f.write("#include <stdint.h>\n")
            for j in range(12):
                name = "f%02d_%02d" % (k, j)
                names.append(name)
                a, b, c = rng.randrange(1, 97), rng.randrange(1, 89), rng.randrange(2, 13)
                f.write(
                    "uint64_t %s(uint64_t x) {\n"
                    "    uint64_t acc = %d;\n"
                    "    for (int i = 0; i < %d; i++) {\n"
                    "        switch ((x + i) %% %d) {\n"
                    "        case 0: acc += x * %d; break;\n"
                    "        case 1: acc ^= acc >> %d; break;\n"
                    "        default: acc = acc * 31 + i;\n"
                    "        }\n"
                    "        x = x * 6364136223846793005ULL + 1442695040888963407ULL;\n"
                    "    }\n"
                    "    return acc ^ x;\n"
                    "}\n" % (name, a, 50 + b, c, a, c))
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write("#include <stdint.h>\n#include <stdio.h>\n")
        for n in names:
            f.write("uint64_t %s(uint64_t);\n" % n)
        f.write("int main(void) {\n    uint64_t s = 0;\n")
        for n in names:
            f.write("    s += %s(s);\n" % n)
        f.write('    printf("%016llx\\n", (unsigned long long)s);\n    return 0;\n}\n')
    objs = " ".join(["m%02d.o" % k for k in range(files)] + ["main.o"])
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("CC = gcc\nCFLAGS = -O2\nOBJS = %s\n\n" % objs)
        f.write("all: prog\n\t./prog\n\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n")
        f.write("%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n")
        f.write("clean:\n\trm -f prog $(OBJS)\n\n.PHONY: all clean\n")


def tree(size, d):
    # Mostly small files (source-tree like), some large ones, in nested dirs.
    rng = random.Random(5)
    written = 0
    i = 0
    while written < size:
        sub = os.path.join(d, "d%02d" % (i % 37), "e%02d" % (i % 11))
        os.makedirs(sub, exist_ok=True)
        n = rng.randrange(64 << 10, 2 << 20) if i % 50 == 49 else rng.randrange(200, 16 << 10)
        n = min(n, size - written)
        with open(os.path.join(sub, "f%05d.dat" % i), "wb") as f:
            f.write(rng.randbytes(n))
        written += n
        i += 1


def gittree(files, d):
    rng = random.Random(6)
    for i in range(files):
        sub = os.path.join(d, "dir%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "file%05d.txt" % i), "w") as f:
            f.write("%d %x\n" % (i, rng.getrandbits(64)) * rng.randint(1, 8))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kind, n, dest = sys.argv[1], int(float(sys.argv[2])), sys.argv[3]
    fn = {"text": text, "bytes": randbytes, "sql": sql, "cproj": cproj,
          "tree": tree, "gittree": gittree}.get(kind)
    if fn is None:
        sys.exit(__doc__)
    fn(max(n, 1), dest)


if __name__ == "__main__":
    main()
