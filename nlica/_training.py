"""The one optimisation loop shared by the neural estimators."""

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(RuntimeError):
    """Raised when training produces a non-finite loss.

    The message names the step, the loss value and the parameter to turn (usually
    ``learning_rate``).

    Examples
    --------
    >>> issubclass(TrainingDivergedError, RuntimeError)
    True
    """
