"""The AI audio guide: points of interest, tours, narration audio, questions by text or voice."""
