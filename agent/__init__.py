"""deskgraph's application layer: settings, model layer, conversation runtime and front ends."""
