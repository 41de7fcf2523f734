"""A pymesos scheduler that runs N command tasks to TASK_FINISHED.

Usage: scheduler.py MASTER_HOST:PORT [N]
Exits 0 when all N tasks finished, 1 if any ended otherwise or on timeout.
"""
import getpass
import logging
import sys
import threading
import uuid

from pymesos import MesosSchedulerDriver, Scheduler
from addict import Dict

TASK_CPUS = 0.1
TASK_MEM = 32


class CommandScheduler(Scheduler):
    def __init__(self, total):
        self.total = total
        self.launched = 0
        self.finished = 0
        self.failed = []
        self.done = threading.Event()

    def registered(self, driver, framework_id, master_info):
        print("registered", framework_id["value"], flush=True)

    def resourceOffers(self, driver, offers):
        for offer in offers:
            cpus = sum(r.scalar.value for r in offer.resources if r.name == "cpus")
            mem = sum(r.scalar.value for r in offer.resources if r.name == "mem")
            tasks = []
            while (self.launched < self.total and cpus >= TASK_CPUS
                   and mem >= TASK_MEM):
                task = Dict()
                task_id = "task-%d" % self.launched
                task.task_id.value = task_id
                task.agent_id.value = offer.agent_id.value
                task.name = task_id
                task.command.value = "echo hello from %s" % task_id
                task.resources = [
                    dict(name="cpus", type="SCALAR", scalar={"value": TASK_CPUS}),
                    dict(name="mem", type="SCALAR", scalar={"value": TASK_MEM}),
                ]
                tasks.append(task)
                self.launched += 1
                cpus -= TASK_CPUS
                mem -= TASK_MEM
            if tasks:
                driver.launchTasks(offer.id, tasks)
            else:
                driver.declineOffer(offer.id, dict(refuse_seconds=3600))

    def statusUpdate(self, driver, update):
        state = update.state
        print("update", update.task_id.value, state, flush=True)
        if state == "TASK_FINISHED":
            self.finished += 1
        elif state in ("TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
                       "TASK_DROPPED", "TASK_GONE"):
            self.failed.append((update.task_id.value, state, update.message))
        if self.finished + len(self.failed) >= self.total:
            self.done.set()

    def error(self, driver, message):
        print("error", message, flush=True)
        self.failed.append(("framework", "ERROR", message))
        self.done.set()


def main():
    logging.basicConfig(level=logging.WARNING)
    master = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    framework = Dict()
    framework.user = getpass.getuser()
    framework.name = "pymesos-" + uuid.uuid4().hex[:8]
    framework.hostname = "localhost"
    scheduler = CommandScheduler(total)
    driver = MesosSchedulerDriver(scheduler, framework, master, use_addict=True)
    driver.start()
    ok = scheduler.done.wait(60)
    driver.stop()
    driver.join()
    print("finished", scheduler.finished, "failed", scheduler.failed, flush=True)
    sys.exit(0 if ok and scheduler.finished == total and not scheduler.failed else 1)


if __name__ == "__main__":
    main()
