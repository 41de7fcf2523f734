"""A pymesos executor: for each task, TASK_RUNNING, a framework message,
then TASK_FINISHED. The agent launches it as a custom executor."""
import logging
import time

from pymesos import MesosExecutorDriver, Executor, encode_data
from addict import Dict


class MessagingExecutor(Executor):
    def launchTask(self, driver, task):
        def update(state):
            status = Dict()
            status.task_id = task.task_id
            status.state = state
            status.timestamp = time.time()
            driver.sendStatusUpdate(status)

        update("TASK_RUNNING")
        driver.sendFrameworkMessage(encode_data(b"hello from " + task.task_id.value.encode()))
        update("TASK_FINISHED")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    driver = MesosExecutorDriver(MessagingExecutor(), use_addict=True)
    driver.run()
