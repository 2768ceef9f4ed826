"""Marketing: brand templates, the post queue, campaigns and the posting calendar."""
