"""Prints and logs from nested functions, at every level, with Markdown:
each entry in the viewer's log carries the stack that wrote it."""

import logging
import warnings

log = logging.getLogger("shop.orders")


def validate(order):
    if order["qty"] <= 0:
        log.error("order %s has **no quantity**", order["id"])
        return False
    if order["qty"] > 50:
        warnings.warn(f"order {order['id']} is unusually large")
    log.debug("order %s looks fine", order["id"])
    return True


def process(orders):
    accepted = [o for o in orders if validate(o)]
    print(f"accepted {len(accepted)} of {len(orders)} orders")
    log.info("batch done: `%d` accepted", len(accepted))
    return accepted


def main():
    logging.basicConfig(level=logging.DEBUG,
                        format="%(levelname)s %(name)s: %(message)s")
    orders = [{"id": i, "qty": (i * 13) % 60 - 3} for i in range(40)]
    for batch in range(3):
        process(orders[batch * 10:(batch + 1) * 10 + 10])
    log.critical("see [the runbook](https://example.org/runbook) if this "
                 "repeats")


if __name__ == "__main__":
    main()
