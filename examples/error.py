"""Ends with an uncaught exception: the log shows it with its traceback's
stack, and the run's exit status is 1."""


def divide(a, b):
    return a / b


def average(values):
    return divide(sum(values), len(values))


if __name__ == "__main__":
    print("average of [1, 2, 3]:", average([1, 2, 3]))
    print("average of []:", average([]))
