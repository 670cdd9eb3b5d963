-- A school's leave requests, newest first (GET /schools/{id}/leave-requests):
-- the school office's list reads them by school, not child by child.
CREATE INDEX leave_requests_school ON leave_requests(school_id, id);
