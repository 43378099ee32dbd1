"""asyncio tasks that wait on I/O-like sleeps and do a little CPU work:
the asyncio.tasks series shows how many are alive."""

import asyncio


async def fetch(i):
    await asyncio.sleep(0.05 + (i % 5) * 0.02)
    return sum(j * j for j in range(20000))


async def crawl(n):
    results = await asyncio.gather(*(fetch(i) for i in range(n)))
    print(f"fetched {len(results)} pages")


async def main():
    for wave in range(4):
        await crawl(30 + wave * 10)


if __name__ == "__main__":
    asyncio.run(main())
