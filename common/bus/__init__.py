"""The bus contract: message types and their wire format (messages), the topic registry (topics),
ZeroMQ sockets (sockets) and the one bootstrap every service process runs (service).

May import: common.config and the keypoint vocabulary (common.coach.keypoints), nothing else of
the project. Must never import: services/ (the bus knows no service), the CLI or the central side.
"""
