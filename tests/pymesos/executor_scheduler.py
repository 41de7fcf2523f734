"""A pymesos scheduler that runs one task under a custom pymesos executor
(tests/pymesos/executor.py) and expects TASK_RUNNING, a framework message
and TASK_FINISHED.

Usage: executor_scheduler.py MASTER_HOST:PORT PYTHON EXECUTOR_SCRIPT
"""
import getpass
import logging
import sys
import threading
import uuid

from pymesos import MesosSchedulerDriver, Scheduler, decode_data
from addict import Dict


class OneTask(Scheduler):
    def __init__(self, command):
        self.command = command
        self.launched = False
        self.states = []
        self.messages = []
        self.done = threading.Event()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id, dict(refuse_seconds=3600))
                continue
            self.launched = True
            task = Dict()
            task.task_id.value = "custom-1"
            task.agent_id.value = offer.agent_id.value
            task.name = "custom-1"
            task.executor.executor_id.value = "pymesos-executor"
            task.executor.name = "pymesos executor"
            task.executor.command.value = self.command
            task.executor.resources = [
                dict(name="cpus", type="SCALAR", scalar={"value": 0.1}),
                dict(name="mem", type="SCALAR", scalar={"value": 64}),
            ]
            task.resources = [
                dict(name="cpus", type="SCALAR", scalar={"value": 0.1}),
                dict(name="mem", type="SCALAR", scalar={"value": 32}),
            ]
            driver.launchTasks(offer.id, [task])

    def statusUpdate(self, driver, update):
        print("update", update.task_id.value, update.state, update.get("message", ""), flush=True)
        self.states.append(update.state)
        if update.state not in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"):
            self.done.set()

    def frameworkMessage(self, driver, executor_id, agent_id, message):
        text = decode_data(message).decode()
        print("message", executor_id.value, text, flush=True)
        self.messages.append(text)


def main():
    logging.basicConfig(level=logging.WARNING)
    master, python, script = sys.argv[1], sys.argv[2], sys.argv[3]
    framework = Dict()
    framework.user = getpass.getuser()
    framework.name = "pymesos-executor-" + uuid.uuid4().hex[:8]
    framework.hostname = "localhost"
    scheduler = OneTask("%s %s" % (python, script))
    driver = MesosSchedulerDriver(scheduler, framework, master, use_addict=True)
    driver.start()
    ok = scheduler.done.wait(60)
    # The message may trail the final update by a moment.
    for _ in range(100):
        if scheduler.messages:
            break
        threading.Event().wait(0.05)
    driver.stop()
    driver.join()
    print("states", scheduler.states, "messages", scheduler.messages, flush=True)
    good = (ok and scheduler.states[-1:] == ["TASK_FINISHED"]
            and "TASK_RUNNING" in scheduler.states
            and scheduler.messages == ["hello from custom-1"])
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
