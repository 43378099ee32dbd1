"""CPU-bound recursion: naive Fibonacci, deep and narrow call stacks."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


for _ in range(12):
    fib(30)
