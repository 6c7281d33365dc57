"""Fulfilment documents (issue 12 item 4): for one brand's delivery day, built on the split's tables.

- supplier pick list (``pick``), warehouse inbound batches (``inbound``), route loading list and crate labels
  (``route``), pickup-point hand-out list and hand-out labels (``handouts``);
- each as a print view (A4, or ``?paper=80mm`` for a thermal receipt; ``views``) and as xlsx streamed in
  constant memory (``xlsx``): rows are read with server-side cursors and written row by row to disk.

The builders take ids and a date so other pages can reuse them (the supplier's page hands out
``pick_list_xlsx``).
"""

from .handouts import handout_labels_xlsx, handout_rows, handouts_xlsx
from .inbound import inbound_rows, inbound_xlsx, unrouted_rows
from .pick import pick_list_filename, pick_list_rows, pick_list_xlsx
from .route import crate_labels, crate_labels_xlsx, route_load_rows, route_stops, route_xlsx
from .xlsx import xlsx_response

__all__ = [
    "crate_labels",
    "crate_labels_xlsx",
    "handout_labels_xlsx",
    "handout_rows",
    "handouts_xlsx",
    "inbound_rows",
    "inbound_xlsx",
    "pick_list_filename",
    "pick_list_rows",
    "pick_list_xlsx",
    "route_load_rows",
    "route_stops",
    "route_xlsx",
    "unrouted_rows",
    "xlsx_response",
]
