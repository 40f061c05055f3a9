"""The privacy notice residents read and accept, in Chinese and English."""
