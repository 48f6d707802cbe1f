// Java threads under test: an ExecutorService of four threads summing
// ranges, a synchronized counter shared by four threads, Thread.join on a
// thread that hands back a value, and a CountDownLatch. Compiled by
// tests/tests/threads.rs with javac into a scratch directory. Every wait is
// bounded: a lost wake-up fails instead of hanging.
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

public class Threads {
    private static final long WAIT_S = 30;
    private static int counter = 0;

    private static synchronized void increment() {
        counter++;
    }

    private static void fail(String what) {
        System.out.println("FAIL: " + what);
        System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> parts = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            final long lo = i * 250_000L + 1, hi = (i + 1) * 250_000L;
            parts.add(pool.submit(() -> {
                long s = 0;
                for (long x = lo; x <= hi; x++) s += x;
                return s;
            }));
        }
        long total = 0;
        for (Future<Long> f : parts) total += f.get(WAIT_S, TimeUnit.SECONDS);
        System.out.println("executor sum 1..1000000 = " + total);
        pool.shutdown();
        System.out.println("executor terminated: " + pool.awaitTermination(WAIT_S, TimeUnit.SECONDS));

        Thread[] adders = new Thread[4];
        for (int i = 0; i < adders.length; i++) {
            adders[i] = new Thread(() -> {
                for (int k = 0; k < 25_000; k++) increment();
            }, "adder-" + i);
            adders[i].start();
        }
        for (Thread t : adders) {
            t.join(WAIT_S * 1000);
            if (t.isAlive()) fail(t.getName() + " still running");
        }
        System.out.println("synchronized counter = " + counter);

        final String[] answer = new String[1];
        Thread helper = new Thread(() -> answer[0] = "set by " + Thread.currentThread().getName(), "helper");
        helper.start();
        helper.join(WAIT_S * 1000);
        if (helper.isAlive()) fail("helper still running");
        System.out.println("after join: " + answer[0]);

        CountDownLatch ready = new CountDownLatch(3);
        for (int i = 0; i < 3; i++) new Thread(ready::countDown).start();
        System.out.println("latch reached zero: " + ready.await(WAIT_S, TimeUnit.SECONDS));
    }
}
