# queue.Queue between two producer and three consumer threads, ended by one
# sentinel per consumer; then a get with a timeout on an empty queue.
import queue
import threading

WAIT_S = 30
PRODUCERS, CONSUMERS, ITEMS = 2, 3, 5000

q = queue.Queue(maxsize=64)  # bounded: producers block when it is full
totals = []
totals_lock = threading.Lock()


def produce(p):
    for i in range(ITEMS):
        q.put(p * ITEMS + i, timeout=WAIT_S)


def consume():
    total = count = 0
    while True:
        item = q.get(timeout=WAIT_S)
        if item is None:
            break
        total += item
        count += 1
    with totals_lock:
        totals.append((total, count))


consumers = [threading.Thread(target=consume) for _ in range(CONSUMERS)]
producers = [threading.Thread(target=produce, args=(p,)) for p in range(PRODUCERS)]
for t in consumers + producers:
    t.start()
for t in producers:
    t.join(WAIT_S)
for _ in consumers:
    q.put(None, timeout=WAIT_S)
for t in consumers:
    t.join(WAIT_S)
n = PRODUCERS * ITEMS
print("consumed", sum(c for _, c in totals), "items, sum", sum(s for s, _ in totals), "expected", n * (n - 1) // 2)
print("consumers finished", len(totals))
try:
    q.get(timeout=0.05)
    print("get on an empty queue returned")
except queue.Empty:
    print("get on an empty queue timed out")
