"""A pymesos 0.3.15 scheduler for the interop test (tests/pymesos_e2e.rs).

It subscribes to the master given on the command line over the v1 scheduler HTTP API,
launches one command task on the first offer that fits, acknowledges every status update
explicitly, and tears the framework down once the task is finished. It prints one line per
step so the test can check the sequence, and exits 0 only if the task went through
TASK_RUNNING to TASK_FINISHED.
"""

import logging
import sys
import threading

from pymesos import MesosSchedulerDriver, Scheduler

TASK_ID = "pymesos-task-1"


def say(*words):
    print(*words, flush=True)


def scalar(offer, name):
    return sum(r["scalar"]["value"] for r in offer["resources"] if r["name"] == name and r["type"] == "SCALAR")


class OneTask(Scheduler):
    def __init__(self, command):
        self.command = command
        self.launched = False
        self.states = []
        self.done = threading.Event()

    def registered(self, driver, framework_id, master_info):
        say("registered", framework_id["value"])

    def reregistered(self, driver, master_info):
        say("reregistered")

    def resourceOffers(self, driver, offers):
        for offer in offers:
            say("offer", offer["id"]["value"], "from", offer["agent_id"]["value"])
            if self.launched or scalar(offer, "cpus") < 0.1 or scalar(offer, "mem") < 32:
                driver.declineOffer([offer["id"]])
                continue
            task = {
                "name": "pymesos task",
                "task_id": {"value": TASK_ID},
                "agent_id": offer["agent_id"],
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                ],
                "command": {"value": self.command},
            }
            driver.launchTasks([offer["id"]], [task])
            self.launched = True
            say("launched", TASK_ID)

    def statusUpdate(self, driver, status):
        state = status["state"]
        self.states.append(state)
        say("update", status["task_id"]["value"], state, status.get("message", ""))
        if "uuid" in status:
            driver.acknowledgeStatusUpdate(status)
            say("acknowledged", state)
        if state in ("TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED"):
            self.done.set()

    def error(self, driver, message):
        say("error", message)
        self.done.set()


def main():
    logging.basicConfig(level=logging.INFO)
    master = sys.argv[1]
    command = sys.argv[2] if len(sys.argv) > 2 else "echo hello from pymesos"
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    scheduler = OneTask(command)
    framework = {"user": "", "name": "pymesos-interop", "hostname": "localhost", "failover_timeout": 60.0}
    driver = MesosSchedulerDriver(scheduler, framework, master, use_addict=False, implicit_acknowledgements=False)
    driver.start()
    finished = scheduler.done.wait(timeout)
    # stop() without failover sends TEARDOWN before the driver's thread ends.
    driver.stop()
    driver.join()
    say("torn down")
    ok = finished and "TASK_RUNNING" in scheduler.states and scheduler.states[-1] == "TASK_FINISHED"
    say("result", "ok" if ok else "failed", scheduler.states)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
