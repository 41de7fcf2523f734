"""A pymesos scheduler that keeps one long task running across master
failovers: it follows the leader through ZooKeeper (pymesos's own detector)
and re-subscribes with its framework id.

Usage: failover_scheduler.py zk://HOST:PORT/PATH
Prints "registered <id>", "reregistered", "disconnected" and
"update <task> <state>" lines, flushed; runs until it is killed.
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


class LongTaskScheduler(Scheduler):
    def __init__(self):
        self.launched = False

    def registered(self, driver, framework_id, master_info):
        print("registered", framework_id["value"], flush=True)

    def reregistered(self, driver, master_info):
        print("reregistered", flush=True)

    def disconnected(self, driver):
        print("disconnected", flush=True)

    def resourceOffers(self, driver, offers):
        for offer in offers:
            cpus = sum(r.scalar.value for r in offer.resources if r.name == "cpus")
            mem = sum(r.scalar.value for r in offer.resources if r.name == "mem")
            if self.launched or cpus < TASK_CPUS or mem < TASK_MEM:
                driver.declineOffer(offer.id, dict(refuse_seconds=3600))
                continue
            task = Dict()
            task.task_id.value = "long-0"
            task.agent_id.value = offer.agent_id.value
            task.name = "long-0"
            task.command.value = "sleep 600"
            task.resources = [
                dict(name="cpus", type="SCALAR", scalar={"value": TASK_CPUS}),
                dict(name="mem", type="SCALAR", scalar={"value": TASK_MEM}),
            ]
            driver.launchTasks(offer.id, [task])
            self.launched = True

    def statusUpdate(self, driver, update):
        print("update", update.task_id.value, update.state, flush=True)

    def error(self, driver, message):
        print("error", message, flush=True)


def main():
    logging.basicConfig(level=logging.WARNING)
    framework = Dict()
    framework.user = getpass.getuser()
    framework.name = "pymesos-failover-" + uuid.uuid4().hex[:8]
    framework.hostname = "localhost"
    framework.failover_timeout = 3600
    framework.checkpoint = True
    driver = MesosSchedulerDriver(
        LongTaskScheduler(), framework, sys.argv[1], use_addict=True
    )
    driver.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
