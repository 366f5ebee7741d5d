from django.urls import path

from visits import views

urlpatterns = [
    path("visits/", views.calendar, name="visits-calendar"),
    path("visits/worklist/", views.worklist, name="visits-worklist"),
    path("visits/book/", views.book, name="visits-book"),
    path("visits/book/first/", views.book_first, name="visits-book-first"),
    path("visits/calendar.ics", views.my_calendar, name="visits-my-calendar"),
    path("visits/feed/", views.feed_settings, name="visits-feed-settings"),
    path("visits/feed/<str:token>.ics", views.feed, name="visits-feed"),
    path("visits/<int:pk>/", views.detail, name="visits-detail"),
    path("visits/<int:pk>/reschedule/", views.reschedule, name="visits-reschedule"),
    path(
        "visits/<int:pk>/<slug:name>/",
        views.action,
        name="visits-action",
    ),
]
