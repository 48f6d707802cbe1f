# multiprocessing.Pool with two worker processes: map, starmap and
# apply_async, each result fetched with a timeout.
import multiprocessing
import os

WAIT_S = 30


def square(x):
    return x * x


def worker_pid(_):
    return os.getpid()


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print("map", pool.map_async(square, range(20)).get(WAIT_S))
        print("starmap", pool.starmap_async(pow, [(2, 10), (3, 4), (10, 3)]).get(WAIT_S))
        print("apply_async", pool.apply_async(sum, ([1, 2, 3, 4],)).get(WAIT_S))
        pids = set(pool.map_async(worker_pid, range(8), chunksize=1).get(WAIT_S))
        print("workers are other processes", os.getpid() not in pids and 1 <= len(pids) <= 2)
    print("pool closed")
