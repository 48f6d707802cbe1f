# concurrent.futures: a ThreadPoolExecutor mapping and propagating an
# exception, and a ProcessPoolExecutor mapping in two worker processes.
import concurrent.futures as cf
import hashlib
import os

WAIT_S = 30


def digest(i):
    return hashlib.sha256(b"mactux-%d" % i).hexdigest()[:12]


def fail(i):
    raise ValueError("item %d refused" % i)


def cube(x):
    return x * x * x, os.getpid()


with cf.ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(digest, range(16), timeout=WAIT_S))
    print("thread pool map", " ".join(results[:4]), "...", len(results), "results")
    futures = [pool.submit(digest, i) for i in range(8)]
    done = sum(1 for _ in cf.as_completed(futures, timeout=WAIT_S))
    print("thread pool as_completed", done)
    try:
        pool.submit(fail, 7).result(timeout=WAIT_S)
    except ValueError as e:
        print("thread pool raised:", e)

if __name__ == "__main__":
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        out = list(pool.map(cube, range(12), timeout=WAIT_S))
    print("process pool map", [v for v, _ in out])
    print("process pool ran outside the parent", all(pid != os.getpid() for _, pid in out))
