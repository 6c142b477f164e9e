"""Child process for the crash-durability test: writes call records through the store's
writer as fast as it can and prints each id once the writer has acknowledged it."""

import sys
import uuid

from appliance.store import open_store


def main(data_dir: str) -> None:
    store = open_store(data_dir)
    out = sys.stdout
    pending = []
    while True:
        for _ in range(8):  # several in flight, so batches really group
            call_id = uuid.uuid4().hex
            row = (call_id, call_id, "inbound", "gsm1", "+79161234567", 1.0e9)
            future = store.writer.execute(
                "INSERT INTO calls(id, linked_id, direction, line, caller_number, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", row)
            pending.append((call_id, future))
        for call_id, future in pending:
            future.result()
            out.write(call_id + "\n")
        out.flush()
        pending.clear()


if __name__ == "__main__":
    main(sys.argv[1])
