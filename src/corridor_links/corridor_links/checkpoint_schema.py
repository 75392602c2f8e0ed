"""The checkpoint's OPC UA address space, shared by the emulator and the bridge's client.

A small, stable subset of the proposed checkpoint model (AutoID-style reads, customs manifests):

``Objects/Checkpoint`` (namespace :data:`NAMESPACE_URI`) holds ``CheckpointId``, ``Online`` and
``RecentRecords`` (a JSON array of the last records posted, each with the fields of its event
type; OPC UA events sent while a client is disconnected are lost, so clients re-read this on
every connect) and emits two event types:

- ``PlateScanEventType``: ``Lane``, ``Plate``, ``TransactionId``, ``Confidence`` (0..1);
- ``ManifestEventType``: ``DeclarationNumber``, ``ContainerNumber``, ``Plate``,
  ``CustomsStatus``, ``Channel``, ``SealIds`` (comma-separated).

The emulator adds ``Objects/Simulation`` with methods ``InjectPlateRead(Lane, Plate,
Confidence) -> TransactionId`` and ``PostManifest(DeclarationNumber, ContainerNumber, Plate,
CustomsStatus, Channel) -> Bool``; a real checkpoint has no Simulation object.
"""

from __future__ import annotations

NAMESPACE_URI = "urn:corridor:checkpoint"
CHECKPOINT_OBJECT = "Checkpoint"
SIMULATION_OBJECT = "Simulation"
PLATE_EVENT = "PlateScanEventType"
MANIFEST_EVENT = "ManifestEventType"

RECENT_RECORDS = "RecentRecords"
RECENT_RECORDS_MAX = 500

PLATE_FIELDS = ("Lane", "Plate", "TransactionId", "Confidence")
MANIFEST_FIELDS = (
    "DeclarationNumber",
    "ContainerNumber",
    "Plate",
    "CustomsStatus",
    "Channel",
    "SealIds",
)
