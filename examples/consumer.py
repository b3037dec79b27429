"""Print the model's outputs of microturn sessions: plain msgpack + aiokafka, no microturn imports."""

import asyncio
import os

import msgpack
from aiokafka import AIOKafkaConsumer


async def main() -> None:
    topic, kafka = os.environ.get("TOPIC", "microturn.output"), os.environ.get("KAFKA", "127.0.0.1:9092")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async for record in consumer:
            event = msgpack.unpackb(record.value)  # a dict; event["schema"] names the type
            print(event["session_id"], event["seq"], event["action"], repr(event["text"]), flush=True)
            if event["final"]:  # the session's last output
                break
    finally:
        await consumer.stop()


asyncio.run(main())
