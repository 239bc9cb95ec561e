"""The coaching logic: keypoint vocabulary, joint geometry, routines (and the bundled routine
files), session scoring, repetitions, fall detection, and the simulated participant's poses.

Pure computation on poses and time: it may import numpy and itself, nothing else of the project.
It knows no sockets, processes or files other than routines, so every rule here is tested with
injected time. Must never import: common.bus, services/, the CLI or the central side.
"""

# The fewest poses a second that still coach well: BlazePose tracks and repetitions count at 15.
# Doctor recommends the model that keeps it with room (common/cli/doctor.py); a class reading fewer
# says so in the scoring service's log (services/scoring.py ClassSessions: nobody admitted).
MIN_POSES_PER_S = 15.0
