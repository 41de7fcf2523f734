"""A pymesos executor for agent-restart tests: it writes its pid to `pid`
in its sandbox; for each task it sends TASK_RUNNING, then TASK_FINISHED
once a file named `go` appears in the sandbox. Through an agent restart it
reconnects and subscribes again, as a checkpointing v1 executor does."""
import logging
import os
import threading
import time

from pymesos import MesosExecutorDriver, Executor
from addict import Dict


class WaitingExecutor(Executor):
    def launchTask(self, driver, task):
        def update(state):
            status = Dict()
            status.task_id = task.task_id
            status.state = state
            status.timestamp = time.time()
            driver.sendStatusUpdate(status)

        update("TASK_RUNNING")

        def finish_on_go():
            while not os.path.exists("go"):
                time.sleep(0.05)
            update("TASK_FINISHED")

        threading.Thread(target=finish_on_go, daemon=True).start()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    with open("pid.tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename("pid.tmp", "pid")
    driver = MesosExecutorDriver(WaitingExecutor(), use_addict=True)
    driver.run()
