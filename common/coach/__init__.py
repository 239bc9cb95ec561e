"""The coaching logic: keypoint vocabulary, joint geometry, routines (and the bundled routine
files), session scoring, repetitions, fall detection, and the simulated participant's poses.

Pure computation on poses and time: it may import numpy and itself, nothing else of the project.
It knows no sockets, processes or files other than routines, so every rule here is tested with
injected time. Must never import: common.bus, services/, the CLI or the central side.
"""
