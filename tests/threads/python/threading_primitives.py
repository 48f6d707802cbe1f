# threading: threads sharing a counter under a Lock, an Event, a Condition
# that passes turns between two threads, a Barrier, and thread-local data.
# Every wait has a timeout, so a lost wake-up fails instead of hanging.
import threading

WAIT_S = 30

# Eight threads add to one counter under a lock.
THREADS, ADDS = 8, 20000
counter = 0
lock = threading.Lock()
native_ids = set()
ids_lock = threading.Lock()


def add():
    global counter
    with ids_lock:
        native_ids.add(threading.get_native_id())
    for _ in range(ADDS):
        with lock:
            counter += 1


workers = [threading.Thread(target=add, name="adder-%d" % i) for i in range(THREADS)]
for t in workers:
    t.start()
for t in workers:
    t.join(WAIT_S)
print("counter", counter, "of", THREADS * ADDS)
print("threads alive after join", sum(t.is_alive() for t in workers))
print("distinct native thread ids", len(native_ids) == THREADS and threading.get_native_id() not in native_ids)

# Four threads wait for one Event.
event = threading.Event()
woken = []
woken_lock = threading.Lock()


def wait_for_event(i):
    if event.wait(WAIT_S):
        with woken_lock:
            woken.append(i)


waiters = [threading.Thread(target=wait_for_event, args=(i,)) for i in range(4)]
for t in waiters:
    t.start()
event.set()
for t in waiters:
    t.join(WAIT_S)
print("event woke", sorted(woken))

# Two threads take turns through a Condition.
cond = threading.Condition()
turn = 0
moves = []


def player(me, rounds):
    global turn
    for _ in range(rounds):
        with cond:
            if not cond.wait_for(lambda: turn == me, WAIT_S):
                moves.append("timeout")
                return
            moves.append(str(me))
            turn = 1 - me
            cond.notify_all()


players = [threading.Thread(target=player, args=(me, 10)) for me in (0, 1)]
for t in players:
    t.start()
for t in players:
    t.join(WAIT_S)
print("condition turns", "".join(moves))

# Three threads meet at a Barrier; thread-local values stay per thread.
barrier = threading.Barrier(3, timeout=WAIT_S)
local = threading.local()
seen = []
seen_lock = threading.Lock()


def meet(i):
    local.value = i * 10
    barrier.wait()
    with seen_lock:
        seen.append(local.value)


meeters = [threading.Thread(target=meet, args=(i,)) for i in range(3)]
for t in meeters:
    t.start()
for t in meeters:
    t.join(WAIT_S)
print("barrier and thread-local", sorted(seen), hasattr(local, "value"))
print("active threads at the end", threading.active_count())
