"""The pieces of the `apiedit` command that are not argument parsing: exit codes, CLI-worded
hints, safe output files, the progress spinner, cancellable calls, `emulate` and `chat`."""
