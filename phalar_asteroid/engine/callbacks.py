"""Lightning callbacks of the contrastive recipes."""

import time

from pytorch_lightning.callbacks import Callback


class TimeToAccuracy(Callback):
    """Records training wall time, and when validation accuracy first reaches a target.

    Wall time counts from the start of ``fit`` and accumulates over resumed runs (the state is
    saved in checkpoints). After every validation the triple (step, seconds, ``val_acc``) is
    appended to :attr:`history`; the first one with ``val_acc >= target`` sets
    :attr:`seconds_to_target` and :attr:`steps_to_target`.

    Args:
        target (float): validation accuracy to reach.
        monitor (str): logged metric to watch.
    """

    def __init__(self, target: float = 0.8, monitor: str = "val_acc"):
        self.target = target
        self.monitor = monitor
        self.history = []
        self.seconds_to_target = None
        self.steps_to_target = None
        self._before = 0.0
        self._start = None

    @property
    def state_key(self) -> str:
        return f"TimeToAccuracy[{self.monitor}>={self.target}]"

    @property
    def elapsed(self) -> float:
        """Training wall seconds so far (all runs of this experiment)."""
        running = time.perf_counter() - self._start if self._start is not None else 0.0
        return self._before + running

    def on_train_start(self, trainer, pl_module):
        self._start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self._before, self._start = self.elapsed, None

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        seconds = self.elapsed
        self.history.append({"step": trainer.global_step, "seconds": seconds, self.monitor: value})
        if self.seconds_to_target is None and value >= self.target:
            self.seconds_to_target, self.steps_to_target = seconds, trainer.global_step
        for logger in trainer.loggers:
            logger.log_metrics({"train_seconds": seconds}, step=trainer.global_step)

    def state_dict(self) -> dict:
        return {
            "elapsed": self.elapsed,
            "history": self.history,
            "seconds_to_target": self.seconds_to_target,
            "steps_to_target": self.steps_to_target,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        self._before = state_dict["elapsed"]
        self.history = list(state_dict["history"])
        self.seconds_to_target = state_dict["seconds_to_target"]
        self.steps_to_target = state_dict["steps_to_target"]
