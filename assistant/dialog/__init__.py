"""The dialog: a pure state machine (flow), the replies it says, auto mode, and the manager that owns locks and storage."""
