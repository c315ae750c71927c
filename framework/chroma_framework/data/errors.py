"""The error the data layer raises for unusable data files (as opposed to one segment's unusable media).

A damaged media blob only marks that modality absent; a metadata or media parquet that cannot be read,
holds no rows, or whose segment ids, labels or splits cannot be trusted stops the command with a
:class:`DataError` naming the file, the column and the offending values.
"""

from __future__ import annotations


class DataError(ValueError):
    """A data file that cannot be used; the message names the file, the column and what is wrong."""
