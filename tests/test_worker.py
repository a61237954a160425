"""The queue-fed worker base: a stop cuts a long wait short, what was offered is consumed."""

import queue

from dashcam.worker import QueueWorker


class Patient(QueueWorker):
    """Waits a minute at a time for items, as a worker with little to do may."""

    def __init__(self):
        QueueWorker.__init__(self, 4, name="patient")
        self.seen = []

    def run(self):
        while not (self.stopping and self.queue.empty()):
            try:
                self.seen.append(self.take(60.0))
            except queue.Empty:
                continue


def test_a_stop_wakes_a_worker_waiting_on_its_queue():
    worker = Patient().start()
    assert worker.offer("a")
    assert worker.stop(timeout=10.0)      # not the 60 s its wait would have taken
    assert worker.seen == ["a"]


def test_a_full_queue_drops_and_counts():
    worker = Patient()                      # not started: nothing is taken
    assert all(worker.offer(i) for i in range(4))
    assert not worker.offer(4) and worker.dropped == 1
