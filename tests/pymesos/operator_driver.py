"""Reads a cluster through pymesos's operator driver, MesosOperatorMasterDriver.

Usage: operator_driver.py MASTER_HOST:PORT

Prints one line per call, `call <TYPE> <answer as JSON>`, for GET_HEALTH,
GET_VERSION, GET_AGENTS, GET_FRAMEWORKS, GET_TASKS and GET_STATE. Then it
subscribes to the event stream, prints `subscribed`, and prints each event
it hears (`task_added <json>`, `task_updated <json>`, `framework_added
<json>`, ...) until a task update reaches TASK_FINISHED, then exits 0.
Exits 1 if that does not happen within 60 seconds.
"""
import json
import logging
import sys
import threading

from pymesos import MesosOperatorMasterDriver, OperatorMaster


def show(kind, value):
    print(kind, json.dumps(value, sort_keys=True), flush=True)


class Printer(OperatorMaster):
    def __init__(self):
        self.finished = threading.Event()

    def taskAdded(self, task_info):
        show("task_added", task_info)

    def taskUpdated(self, task_info):
        show("task_updated", task_info)
        if task_info.get("state") == "TASK_FINISHED":
            self.finished.set()

    def frameworkAdded(self, framework_info):
        show("framework_added", framework_info)

    def frameworkUpdated(self, framework_info):
        show("framework_updated", framework_info)

    def frameworkRemoved(self, framework_info):
        show("framework_removed", framework_info)

    def agentAdded(self, agent_info):
        show("agent_added", agent_info)

    def agentRemoved(self, agent_id):
        show("agent_removed", agent_id)


class Driver(MesosOperatorMasterDriver):
    """Says when the stream is subscribed, so the caller can act then."""

    def on_subscribed(self, info):
        super().on_subscribed(info)
        print("subscribed", flush=True)


def main():
    logging.basicConfig(level=logging.WARNING)
    master = sys.argv[1]
    calls = Driver(master)
    for name, call in [
        ("GET_HEALTH", calls.getHealth),
        ("GET_VERSION", calls.getVersion),
        ("GET_AGENTS", calls.getAgents),
        ("GET_FRAMEWORKS", calls.getFrameworks),
        ("GET_TASKS", calls.getTasks),
        ("GET_STATE", calls.getState),
    ]:
        show("call " + name, call())

    printer = Printer()
    stream = Driver(master, printer)
    stream.start()
    ok = printer.finished.wait(60)
    stream.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
