from django.db import models


class Visit(models.Model):
    """One request to the front page: the page counts them, so it needs its table."""

    at = models.DateTimeField(auto_now_add=True)
    path = models.CharField(max_length=200)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.path} at {self.at:%Y-%m-%d %H:%M:%S}"
