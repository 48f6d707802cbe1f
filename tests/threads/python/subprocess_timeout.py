# subprocess.run with a timeout: a child that outlives it (TimeoutExpired,
# the child killed and reaped) and one that finishes in time.
import subprocess

try:
    subprocess.run(["/bin/sleep", "10"], capture_output=True, timeout=0.5)
    print("sleep 10 finished within 0.5 s")
except subprocess.TimeoutExpired as e:
    print("timed out:", e.cmd, "after", e.timeout, "s")

done = subprocess.run(["/bin/echo", "finished"], capture_output=True, timeout=30)
print("returncode", done.returncode, "stdout", done.stdout)

try:
    subprocess.run(["/bin/sleep", "10"], timeout=0.3)
except subprocess.TimeoutExpired as e:
    print("timed out without pipes:", e.cmd[0])
