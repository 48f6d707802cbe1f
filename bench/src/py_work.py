"""The python3 row of bench/run.sh (section h): pure-Python work of the
kinds interpreters spend their time on (integer arithmetic, dict and string
operations, a sort), about 1 s natively for N = 1000000. Prints a checksum
that must be the same under every launcher.

usage: python3 -I py_work.py N
"""
import sys


def work(n):
    counts = {}
    acc = 0
    words = []
    for i in range(n):
        key = "k%d" % (i % 997)
        counts[key] = counts.get(key, 0) + i
        acc = (acc * 31 + i) % 1000000007
        if i % 10 == 0:
            words.append(str(acc)[::-1])
    words.sort()
    return acc, sum(counts.values()) % 1000000007, len(words), words[len(words) // 2]


if __name__ == "__main__":
    print(*work(int(sys.argv[1])))
