"""asyncio: many tasks that compute a little and sleep a little."""

import asyncio


async def task(i):
    total = 0
    for _ in range(20):
        for j in range(1500):
            total += j ^ i
        await asyncio.sleep(0.001)
    return total


async def main():
    for _ in range(5):
        await asyncio.gather(*(task(i) for i in range(100)))


asyncio.run(main())
