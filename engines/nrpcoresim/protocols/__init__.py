"""Engine communication protocols, client side: JSON over REST and protobuf over gRPC."""
