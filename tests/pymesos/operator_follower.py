"""pymesos's MesosOperatorMasterDriver, unmodified, against our master:
subscribes to the operator event stream and prints each event it hears,
then makes the read-only calls and prints what they answer.

Usage: operator_follower.py MASTER_HOST:PORT [AGENT_HOST:PORT]
Prints `subscribed <agents>` once the stream is open, one line per event
(`task_added <task>`, `task_updated <task> <state>`, `agent_added <id>`,
`agent_removed <id>`, `framework_added <name>`, ...), and `calls ok` once
every call answered (`agent calls ok` too when an agent is given, through
MesosOperatorAgentDriver); runs until killed.
"""
import json
import logging
import sys

from pymesos import (MesosOperatorAgentDriver, MesosOperatorMasterDriver,
                     OperatorMaster)


def say(*words):
    print(*words, flush=True)


class Printer(OperatorMaster):
    def taskAdded(self, task_info):
        say("task_added", task_info["task_id"]["value"])

    def taskUpdated(self, task_info):
        say("task_updated", task_info["status"]["task_id"]["value"],
            task_info["state"])

    def frameworkAdded(self, framework_info):
        say("framework_added", framework_info["framework_info"]["name"])

    def frameworkUpdated(self, framework_info):
        say("framework_updated", framework_info["framework_info"]["name"])

    def frameworkRemoved(self, framework_info):
        say("framework_removed", framework_info["name"])

    def agentAdded(self, agent_info):
        say("agent_added", agent_info["agent_info"]["id"]["value"])

    def agentRemoved(self, agent_id):
        say("agent_removed", agent_id)


class Driver(MesosOperatorMasterDriver):
    def on_subscribed(self, info):
        agents = info["get_state"].get("get_agents", {}).get("agents", [])
        say("subscribed", len(agents))


def main():
    logging.basicConfig(level=logging.WARNING)
    driver = Driver(sys.argv[1], Printer())
    driver.start()
    answers = {
        "health": driver.getHealth(),
        "version": driver.getVersion(),
        "flags": driver.getFlags(),
        "state": driver.getState(),
        "agents": driver.getAgents(),
        "frameworks": driver.getFrameworks(),
        "tasks": driver.getTasks(),
        "roles": driver.getRoles(),
        "master": driver.getMaster(),
    }
    assert answers["health"]["get_health"]["healthy"] is True, answers
    for name, answer in answers.items():
        assert "type" in answer, (name, answer)
    say("agents", json.dumps(answers["agents"]["get_agents"]))
    say("calls ok")
    if len(sys.argv) > 2:
        agent = MesosOperatorAgentDriver(sys.argv[2])
        assert agent.getHealth()["get_health"]["healthy"] is True
        state = agent.getState()
        assert state["type"] == "GET_STATE", state
        containers = agent.getContainers()
        assert containers["type"] == "GET_CONTAINERS", containers
        say("agent calls ok")
    driver.join()


if __name__ == "__main__":
    main()
