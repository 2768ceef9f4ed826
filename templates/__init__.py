"""Example brand post templates shipped with socialsell (copied by `socialsell init`)."""
